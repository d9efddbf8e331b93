package cli

import (
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// flagSet is a flag.FlagSet whose every flag also reads a GHUSAGE_*
// environment variable (the flag wins when both are given).
type flagSet struct {
	*flag.FlagSet
	getenv func(string) string
	errs   []envError // GHUSAGE_* values that did not parse, by flag
	args   []string   // positional arguments, wherever they stood among the flags
}

func newFlagSet(name string, getenv func(string) string, stderr io.Writer) *flagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return &flagSet{FlagSet: fs, getenv: getenv}
}

// EnvName is the environment variable of a flag: GHUSAGE_ + NAME_IN_CAPS.
func EnvName(flagName string) string {
	return "GHUSAGE_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func (f *flagSet) env(name string) (string, bool) {
	v := f.getenv(EnvName(name))
	return v, v != ""
}

func (f *flagSet) usage(name, text string) string { return text + " [$" + EnvName(name) + "]" }

func (f *flagSet) stringVar(p *string, name, def, text string) {
	if v, ok := f.env(name); ok {
		def = v
	}
	f.StringVar(p, name, def, f.usage(name, text))
}

func (f *flagSet) boolVar(p *bool, name string, def bool, text string) {
	if v, ok := f.env(name); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			f.envError(name, fmt.Errorf("%s=%q: not a boolean", EnvName(name), v))
		}
		def = b
	}
	f.BoolVar(p, name, def, f.usage(name, text))
}

func (f *flagSet) intVar(p *int, name string, def int, text string) {
	if v, ok := f.env(name); ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			f.envError(name, fmt.Errorf("%s=%q: not an integer", EnvName(name), v))
		}
		def = n
	}
	f.IntVar(p, name, def, f.usage(name, text))
}

func (f *flagSet) int64Var(p *int64, name string, def int64, text string) {
	if v, ok := f.env(name); ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			f.envError(name, fmt.Errorf("%s=%q: not an integer", EnvName(name), v))
		}
		def = n
	}
	f.Int64Var(p, name, def, f.usage(name, text))
}

func (f *flagSet) uint64Var(p *uint64, name string, def uint64, text string) {
	if v, ok := f.env(name); ok {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			f.envError(name, fmt.Errorf("%s=%q: not a non-negative integer", EnvName(name), v))
		}
		def = n
	}
	f.Uint64Var(p, name, def, f.usage(name, text))
}

func (f *flagSet) float64Var(p *float64, name string, def float64, text string) {
	if v, ok := f.env(name); ok {
		n, err := strconv.ParseFloat(v, 64)
		if err != nil {
			f.envError(name, fmt.Errorf("%s=%q: not a number", EnvName(name), v))
		}
		def = n
	}
	f.Float64Var(p, name, def, f.usage(name, text))
}

func (f *flagSet) durationVar(p *time.Duration, name string, def time.Duration, text string) {
	if v, ok := f.env(name); ok {
		d, err := time.ParseDuration(v)
		if err != nil {
			f.envError(name, fmt.Errorf("%s=%q: not a duration such as 30s or 5m", EnvName(name), v))
		}
		def = d
	}
	f.DurationVar(p, name, def, f.usage(name, text))
}

type envError struct {
	name string
	err  error
}

// envError records that the variable of flag name did not parse; it is
// an error only when the flag is not given on the command line.
func (f *flagSet) envError(name string, err error) { f.errs = append(f.errs, envError{name, err}) }

// parse parses args, allowing positional arguments between flags
// ("create-org acme --enterprise x"), and reports bad environment values
// of flags the command line does not override.
func (f *flagSet) parse(args []string) error {
	if err := f.parseArgs(args); err != nil {
		return err
	}
	set := map[string]bool{}
	f.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	for _, e := range f.errs {
		if !set[e.name] {
			return e.err
		}
	}
	return nil
}

func (f *flagSet) parseArgs(args []string) error {
	for {
		if err := f.Parse(args); err != nil {
			return err
		}
		rest := f.Args()
		if len(rest) == 0 {
			return nil
		}
		if rest[0] == "--" {
			f.args = append(f.args, rest[1:]...)
			return nil
		}
		f.args = append(f.args, rest[0])
		args = rest[1:]
	}
}
