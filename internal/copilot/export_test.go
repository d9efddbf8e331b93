package copilot

import "encoding/json"

// AggregateLines aggregates stored activity lines as BuildDay does, with
// the fast decoder (and its fallback) or with encoding/json alone, and
// returns the aggregate's JSON; fastOK counts lines the fast decoder read.
func AggregateLines(lines [][]byte, fast bool) (out []byte, fastOK int, err error) {
	g := newAggregator()
	var a Activity
	for _, l := range lines {
		if fast {
			a.resetForAggregate()
			if decodeForAggregate(l, &a) == nil {
				fastOK++
			} else {
				a = Activity{}
				if err := json.Unmarshal(l, &a); err != nil {
					return nil, 0, err
				}
			}
		} else {
			a = Activity{}
			if err := json.Unmarshal(l, &a); err != nil {
				return nil, 0, err
			}
		}
		g.add(&a, &Extra{})
	}
	out, err = json.Marshal(g.result(1, "1", "", 1, ActiveCounts{}))
	return out, fastOK, err
}

// DecodeForAggregate is decodeForAggregate.
func DecodeForAggregate(b []byte, a *Activity) error { return decodeForAggregate(b, a) }
