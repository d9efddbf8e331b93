package insights

// NewLineParser returns a parser of lines as decodeAll parses them, with
// one string set for all of them (but ids are strings of their own).
func NewLineParser() func(b []byte, e *Event) *FieldError {
	in := &stringSet{m: map[string]string{}}
	return func(b []byte, e *Event) *FieldError { return parseEvent(b, e, in) }
}
