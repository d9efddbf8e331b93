package httpapi

import (
	"encoding/json"
	"net/http"
)

// jsonAppender is a body that appends its own JSON encoding, the bytes
// encoding/json would write, skipping encoding/json's validation pass over
// a Marshaler's output (billing.UsageReport: megabytes per answer).
type jsonAppender interface {
	AppendJSON(b []byte) []byte
}

// appendJSON appends the JSON encoding of v to b.
func appendJSON(b []byte, v any) ([]byte, error) {
	if a, ok := v.(jsonAppender); ok {
		return a.AppendJSON(b), nil
	}
	j, err := json.Marshal(v)
	return append(b, j...), err
}

// writeJSON writes v as the JSON body with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := appendJSON(nil, v)
	if err != nil {
		http.Error(w, `{"message":"Server Error","status":"500"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
