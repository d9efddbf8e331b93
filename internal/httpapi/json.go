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

// writeJSON writes v as the JSON body with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var b []byte
	var err error
	if a, ok := v.(jsonAppender); ok {
		b = a.AppendJSON(nil)
	} else {
		b, err = json.Marshal(v)
	}
	if err != nil {
		http.Error(w, `{"message":"Server Error","status":"500"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
