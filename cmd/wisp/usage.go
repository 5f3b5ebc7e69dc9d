package main

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// The CLI's usage errors name what was expected and give an example, in
// the command's own words: no parser internals (strconv, pflag) and no
// cobra defaults ("requires at least 1 arg(s)") reach the user.

// wantArgs is the argument part of cmd.Use ("<plugin dir>", "ID"...).
func wantArgs(cmd *cobra.Command) string {
	if _, rest, ok := strings.Cut(cmd.Use, " "); ok {
		return rest
	}
	return ""
}

// example is the command's first example line, or its usage line.
func example(cmd *cobra.Command) string {
	for _, l := range strings.Split(cmd.Example, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	return strings.TrimSpace(cmd.CommandPath() + " " + wantArgs(cmd))
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	if n == 0 {
		return "no " + word + "s"
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func argsError(cmd *cobra.Command, want string, args []string) error {
	got := plural(len(args), "argument")
	if len(args) > 0 {
		got += fmt.Sprintf(" (%q)", strings.Join(args, " "))
	}
	return fmt.Errorf("%s wants %s, got %s; e.g. %s", cmd.CommandPath(), want, got, example(cmd))
}

// noArgs is noArgs with a message that names the command.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("%s takes no arguments, got %q; e.g. %s (flags: %s --help)",
			cmd.CommandPath(), strings.Join(args, " "), example(cmd), cmd.CommandPath())
	}
	return nil
}

// exactArgs is exactArgs(n) naming the arguments from cmd.Use.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return argsError(cmd, fmt.Sprintf("%s: %s", plural(n, "argument"), wantArgs(cmd)), args)
		}
		return nil
	}
}

// minArgs is minArgs(n) naming the arguments from cmd.Use.
func minArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < n {
			return argsError(cmd, fmt.Sprintf("at least %s: %s", plural(n, "argument"), wantArgs(cmd)), args)
		}
		return nil
	}
}

// maxArgs is maxArgs(n) naming the arguments from cmd.Use.
func maxArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) > n {
			return argsError(cmd, fmt.Sprintf("at most %s: %s", plural(n, "argument"), wantArgs(cmd)), args)
		}
		return nil
	}
}

// groupArgs refuses an unknown subcommand of a command group, listing the
// group's commands; a group run bare prints its help.
func groupArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	var names []string
	for _, c := range cmd.Commands() {
		if c.IsAvailableCommand() {
			names = append(names, c.Name())
		}
	}
	sort.Strings(names)
	msg := fmt.Sprintf("%s has no command %q; its commands are %s; e.g. %s %s --help",
		cmd.CommandPath(), args[0], strings.Join(names, ", "), cmd.CommandPath(), names[0])
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg = fmt.Sprintf("%s has no command %q: did you mean %s? (e.g. %s %s --help)",
			cmd.CommandPath(), args[0], strings.Join(s, " or "), cmd.CommandPath(), s[0])
	}
	return errors.New(msg)
}

// setDefaults walks the tree: groups get groupArgs and print their help
// when run bare; every command's flag errors go through flagError.
func setDefaults(cmd *cobra.Command) {
	if cmd.Run == nil && cmd.RunE == nil && cmd.HasSubCommands() {
		cmd.Args = groupArgs
		cmd.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
	}
	cmd.SetFlagErrorFunc(flagError)
	for _, c := range cmd.Commands() {
		setDefaults(c)
	}
}

// flagKinds describes a flag's type and gives a sample value.
var flagKinds = map[string][2]string{
	"int":          {"a whole number", "10"},
	"int64":        {"a whole number", "10"},
	"uint64":       {"a whole number ≥ 0", "10"},
	"uint8":        {"a whole number 0–255", "3"},
	"float64":      {"a number", "0.5"},
	"float64Slice": {"numbers separated by commas", "0.5,1,2"},
	"intSlice":     {"whole numbers separated by commas", "1,2,3"},
	"duration":     {"a duration (s, m, h or d for days)", "90m"},
	"bool":         {"true or false", "true"},
	"string":       {"a value", "VALUE"},
}

func flagKind(f *pflag.Flag) (string, string) {
	k, ok := flagKinds[f.Value.Type()]
	if !ok {
		k = [2]string{"a " + f.Value.Type(), "VALUE"}
	}
	sample := k[1]
	if d := f.DefValue; d != "" && d != "0" && d != "0s" && d != "[]" && d != "false" {
		sample = d
		if f.Value.Type() == "duration" {
			if v, err := parseDuration(d); err == nil {
				sample = prettyDuration(v)
			}
		}
	}
	return k[0], sample
}

// flagError rewrites a flag parsing error in the command's words.
func flagError(cmd *cobra.Command, err error) error {
	path := cmd.CommandPath()
	var inv *pflag.InvalidValueError
	var req *pflag.ValueRequiredError
	var nx *pflag.NotExistError
	switch {
	case errors.As(err, &inv):
		f := inv.GetFlag()
		kind, sample := flagKind(f)
		if r := inv.Unwrap(); r != nil && isOurs(r) {
			return fmt.Errorf("--%s %s; e.g. %s --%s %s", f.Name, r.Error(), path, f.Name, sample)
		}
		return fmt.Errorf("--%s wants %s, not %q; e.g. %s --%s %s", f.Name, kind, inv.GetValue(), path, f.Name, sample)
	case errors.As(err, &req):
		f := req.GetFlag()
		kind, sample := flagKind(f)
		return fmt.Errorf("--%s needs a value: %s; e.g. %s --%s %s", f.Name, kind, path, f.Name, sample)
	case errors.As(err, &nx):
		name := nx.GetSpecifiedName()
		dash := "--"
		if name == "" {
			name, dash = nx.GetSpecifiedShortnames(), "-"
		}
		var flags []string
		var first *pflag.Flag
		cmd.Flags().VisitAll(func(f *pflag.Flag) {
			if !f.Hidden && f.Name != "help" {
				flags = append(flags, "--"+f.Name)
				if first == nil {
					first = f
				}
			}
		})
		if first == nil {
			return fmt.Errorf("%s has no flag %s%s (it takes none); e.g. %s", path, dash, name, example(cmd))
		}
		_, sample := flagKind(first)
		if first.Value.Type() == "bool" {
			sample = ""
		}
		return fmt.Errorf("%s has no flag %s%s; its flags are %s; e.g. %s",
			path, dash, name, strings.Join(flags, ", "), strings.TrimSpace(path+" --"+first.Name+" "+sample))
	}
	return fmt.Errorf("%s: %v; see %s --help", path, err, path)
}

// valueError is an error a flag value of ours (durationValue) returns:
// written for the user, so flagError quotes it.
type valueError struct{ msg string }

func (e valueError) Error() string { return e.msg }

func isOurs(err error) bool {
	var v valueError
	return errors.As(err, &v)
}

// prettyDuration writes d as a person would: 30d, 1h, 90m, 1d12h.
func prettyDuration(d time.Duration) string {
	day := 24 * time.Hour
	if d >= day {
		days, rest := d/day, d%day
		if rest == 0 {
			return fmt.Sprintf("%dd", days)
		}
		return fmt.Sprintf("%dd%s", days, prettyDuration(rest))
	}
	s := d.String()
	s = strings.TrimSuffix(s, "0s")
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	if s == "" {
		return "0s"
	}
	return s
}
