package httpapi

import (
	"net/http"

	"github.com/ghusage/ghusage/internal/blob"
)

// FilesPattern is the download route of signed links (blob.Signer).
const FilesPattern = "GET " + blob.DownloadPath + "{name...}"

// handleDownload serves a file through a signed link. It sits outside the
// API pipeline: the link is the credential, so Authorization is ignored
// (go-github sends it, other clients send none) and the request is not
// rate limited. An expired, altered or malformed link is 403; HEAD and
// Range requests are answered by http.ServeContent.
func (s *Server) handleDownload(w http.ResponseWriter, r *http.Request) {
	if s.Blobs == nil || s.Signer == nil {
		s.writeError(w, r, errNotFound)
		return
	}
	name := r.PathValue("name")
	q := r.URL.Query()
	if err := s.Signer.Verify(name, q.Get("expires"), q.Get("signature")); err != nil {
		s.writeError(w, r, err)
		return
	}
	f, err := s.Blobs.Open(r.Context(), name)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	defer f.Close()
	info := f.Info()
	h := w.Header()
	h.Set("Content-Type", info.ContentType)
	h.Set("Cache-Control", "private, no-transform")
	http.ServeContent(w, r, "", info.ModTime, f)
}
