package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"github.com/spf13/cobra"

	"github.com/wisp-project/wisp/host"
)

// importedEvent is one line of an events file (JSON Lines). Time is
// RFC 3339; Ago ("48h", "30m") is relative to now, for sample files that
// stay fresh.
type importedEvent struct {
	Plugin string    `json:"plugin"`
	Kind   uint32    `json:"kind"`
	Code   uint32    `json:"code"`
	Time   time.Time `json:"time"`
	Ago    string    `json:"ago"`
	Value  float64   `json:"value"`
}

// newDeviceEventsCmd is wisp device events import.
func newDeviceEventsCmd(f *deviceFlags) *cobra.Command {
	events := &cobra.Command{Use: "events", Short: "Record local events (for trying Wisp out)"}
	imp := &cobra.Command{
		Use:     "import <file.jsonl | ->",
		Example: "  wisp device events import events.jsonl",
		Short:   "Record events from a JSON Lines file",
		Long: `import records events from a JSON Lines file ("-" reads stdin), one event a line:

  {"plugin": "fitness", "kind": 3, "code": 1, "ago": "48h", "value": 45}
  {"plugin": "fitness", "kind": 1, "time": "2026-11-22T20:00:00Z", "value": 9500}

kind, code and value are the plugin's vocabulary (fitness: kind 1 steps/day,
2 heart rate, 3 workout with code 1 run, 2 ride, 3 swim, 4 yoga, 5 strength,
6 walk and value in minutes). Events need the plugin's consent.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var r io.Reader = os.Stdin
			if args[0] != "-" {
				file, err := os.Open(args[0])
				if err != nil {
					return err
				}
				defer file.Close()
				r = file
			}
			byPlugin, err := readEvents(r, time.Now())
			if err != nil {
				return err
			}
			return f.withDevice(cmd, func(ctx context.Context, d *host.Device) error {
				names := make([]string, 0, len(byPlugin))
				for p := range byPlugin {
					names = append(names, p)
				}
				sort.Strings(names)
				for _, p := range names {
					if err := d.RecordEvents(ctx, p, byPlugin[p]); err != nil {
						return err
					}
					fmt.Fprintf(cmd.OutOrStdout(), "recorded %d events for %s\n", len(byPlugin[p]), p)
				}
				return nil
			})
		},
	}
	events.AddCommand(imp)
	return events
}

func readEvents(r io.Reader, now time.Time) (map[string][]host.Event, error) {
	out := map[string][]host.Event{}
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		b := sc.Bytes()
		if len(b) == 0 || b[0] == '#' {
			continue
		}
		var e importedEvent
		dec := json.NewDecoder(bytesReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		if e.Plugin == "" {
			return nil, fmt.Errorf("line %d: no plugin", line)
		}
		t := e.Time
		if e.Ago != "" {
			d, err := time.ParseDuration(e.Ago)
			if err != nil {
				return nil, fmt.Errorf("line %d: ago: %w", line, err)
			}
			t = now.Add(-d)
		}
		out[e.Plugin] = append(out[e.Plugin], host.Event{Kind: e.Kind, Code: e.Code, Time: t, Value: e.Value})
	}
	return out, sc.Err()
}
