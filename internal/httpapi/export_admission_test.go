package httpapi

// IngestAdmission returns the bytes the ingest admission limit holds now,
// the most it held at once, and the batches waiting to be admitted.
func IngestAdmission(s *Server) (used, peak int64, waiting int) { return s.ingestSem.stats() }
