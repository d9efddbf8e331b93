package billing

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"time"
)

// The Copilot SKUs ghusage derives from its Copilot seats and activity
// when --copilot-billing is on (server/copilot_billing.go).
const (
	SKUCopilotBusiness   = "copilot_for_business"
	SKUCopilotEnterprise = "copilot_enterprise"
	SKUCopilotPremium    = "copilot_premium_request"
)

// CopilotDerived says why billing-usage ingestion refuses r while the
// ledger derives Copilot licences and premium requests ("" when it
// accepts r): one source, no double entry.
func CopilotDerived(r *Record) string {
	switch r.SKU {
	case SKUCopilotBusiness, SKUCopilotEnterprise:
		return fmt.Sprintf("%s records are derived from the Copilot seats (/orgs/{org}/copilot/billing/selected_users) while --copilot-billing is on; one source, no double entry", r.SKU)
	case SKUCopilotPremium:
		return fmt.Sprintf("%s records are derived from the premium_requests_by_model of ingested Copilot usage (/ghusage/v1/ingest/copilot-usage) while --copilot-billing is on; one source, no double entry", r.SKU)
	}
	return ""
}

// DecodeAllRefusing is DecodeAll that also refuses every record for which
// refuse gives a reason: the batch is then a 422 naming each such record's
// line and its sku field, and nothing is recorded. ghusage refuses this
// way, on billing-usage ingestion, the Copilot SKUs the ledger derives
// from Copilot seats and activity (--copilot-billing): one source, no
// double entry.
func DecodeAllRefusing(r io.Reader, c *Catalog, now time.Time, max int, refuse func(*Record) string) ([]Record, error) {
	br := bufio.NewReaderSize(r, 256<<10)
	var src io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, lineErrors([]*LineError{{Line: 1, Message: "invalid gzip stream: " + err.Error()}}, 1)
		}
		src = io.LimitReader(zr, MaxDecodedBytes)
	}
	lc := &lineCounter{}
	recs, err := DecodeAll(io.TeeReader(src, lc), c, now, max)
	if err != nil {
		return nil, err
	}
	lines := lc.finish()
	var bad []*LineError
	total := 0
	for i := range recs {
		why := refuse(&recs[i])
		if why == "" {
			continue
		}
		total++
		if len(bad) < MaxLineErrors {
			line := i + 1
			if len(lines) == len(recs) {
				line = lines[i]
			}
			bad = append(bad, &LineError{Line: line, Field: "sku", Message: why})
		}
	}
	if total > 0 {
		return nil, lineErrors(bad, total)
	}
	return recs, nil
}

// lineCounter notes the numbers of the lines that are not blank, as
// DecodeAll counts them: the records it returns come from those lines, in
// order.
type lineCounter struct {
	line           int
	started, blank bool
	nonBlank       []int
}

func (lc *lineCounter) Write(p []byte) (int, error) {
	for _, b := range p {
		if !lc.started {
			lc.started, lc.blank = true, true
			lc.line++
		}
		switch b {
		case '\n':
			if !lc.blank {
				lc.nonBlank = append(lc.nonBlank, lc.line)
			}
			lc.started = false
		case ' ', '\t', '\r', '\v', '\f':
		default:
			lc.blank = false
		}
	}
	return len(p), nil
}

func (lc *lineCounter) finish() []int {
	if lc.started && !lc.blank {
		lc.nonBlank = append(lc.nonBlank, lc.line)
		lc.started = false
	}
	return lc.nonBlank
}
