package httpapi

import "net/http"

func (s *Server) copilotSeatRoutes(mux *http.ServeMux) {}
