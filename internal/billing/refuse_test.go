package billing

import (
	"bytes"
	"compress/gzip"
	"strings"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/usage"
)

// DecodeAllRefusing names the line of each refused record, counting blank
// lines as DecodeAll does, in plain and gzip bodies; without a refused
// record it returns what DecodeAll returns.
func TestDecodeAllRefusingNamesLines(t *testing.T) {
	now := time.Date(2026, 11, 10, 0, 0, 0, 0, time.UTC)
	ok := `{"id":"a","timestamp":"2026-11-09T10:00:00Z","product":"actions","sku":"actions_linux","quantity":3,"unit":"minutes","organization":"o"}`
	prem := `{"id":"b","timestamp":"2026-11-09T10:00:00Z","product":"copilot","sku":"copilot_premium_request","quantity":3,"unit":"requests","organization":"o","username":"u"}`
	credits := `{"id":"c","timestamp":"2026-11-09T10:00:00Z","product":"copilot","sku":"copilot_ai_credits","quantity":3,"unit":"credits","organization":"o","username":"u"}`
	body := ok + "\n\n  \n" + credits + "\n" + prem + "\r\n" + prem[:len(prem)-1] + `,"model":"x"}`
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(body))
	zw.Close()
	for name, in := range map[string]string{"plain": body, "gzip": gz.String()} {
		_, err := DecodeAllRefusing(strings.NewReader(in), DefaultCatalog(), now, MaxBatch, CopilotDerived)
		ue, isUE := err.(*usage.Error)
		if !isUE || ue.Kind != usage.KindInvalid || len(ue.Fields) != 2 || ue.Fields[0].Field != "line 5: sku" || ue.Fields[1].Field != "line 6: sku" {
			t.Fatalf("%s: %#v", name, err)
		}
	}
	recs, err := DecodeAllRefusing(strings.NewReader(ok+"\n\n"+credits), DefaultCatalog(), now, MaxBatch, CopilotDerived)
	if err != nil || len(recs) != 2 {
		t.Fatalf("nothing refused: %v %v", recs, err)
	}
}
