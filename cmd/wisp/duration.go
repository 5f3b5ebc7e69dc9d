package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// parseDuration is time.ParseDuration that also takes days: "30d",
// "1d12h", "1.5d" (a day is 24 hours). Every duration flag and setting of
// the CLI uses it.
func parseDuration(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	var days time.Duration
	if i := strings.IndexByte(t, 'd'); i >= 0 {
		n, err := strconv.ParseFloat(t[:i], 64)
		if err != nil || n < 0 {
			return 0, valueError{fmt.Sprintf("%q: want a duration such as 90m, 12h, 30d or 1d12h", s)}
		}
		days = time.Duration(n * float64(24*time.Hour))
		if t = t[i+1:]; t == "" {
			return days, nil
		}
	}
	d, err := time.ParseDuration(t)
	if err != nil || (days > 0 && d < 0) {
		return 0, valueError{fmt.Sprintf("%q: want a duration such as 90m, 12h, 30d or 1d12h", s)}
	}
	return days + d, nil
}

// durationValue is a pflag.Value of type "duration" parsed by parseDuration.
type durationValue time.Duration

func (d *durationValue) Set(s string) error {
	v, err := parseDuration(s)
	if err != nil {
		return err
	}
	*d = durationValue(v)
	return nil
}

func (d *durationValue) Type() string   { return "duration" }
func (d *durationValue) String() string { return prettyDuration(time.Duration(*d)) }

// durationVar is FlagSet.DurationVar with parseDuration's days.
func durationVar(f *pflag.FlagSet, p *time.Duration, name string, value time.Duration, usage string) {
	*p = value
	f.Var((*durationValue)(p), name, usage)
}
