package host

import (
	"encoding/json"
	"testing"
	"time"
)

// FuzzCatalogue feeds SetSignedCatalogue's decoding and checks (after the
// signature) arbitrary bytes: it must never panic, and what it accepts must
// be a catalogue the device honours as written.
func FuzzCatalogue(f *testing.F) {
	good, err := json.Marshal(testCatalogue())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"creatives":[{"id":"a","campaign":"c","categories":[1],"min_score":0.5,"cap":{"max":-1}}]}`))
	f.Add([]byte(`{"quiet_hours":{"from_minute":1439,"to_minute":0}}`))
	f.Add([]byte(`{"global_cap":{"max":2,"window_ns":-5}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var c Catalogue
		if json.Unmarshal(b, &c) != nil || c.validate() != nil {
			return
		}
		for _, cp := range append([]FrequencyCap{c.Cap}, capsOf(c)...) {
			if cp.Max < 0 || cp.Window < 0 {
				t.Fatalf("accepted cap %+v", cp)
			}
		}
		// The quiet hours last (To − From) mod 24 h a day, minute by minute.
		day := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
		quiet := 0
		for m := range 24 * 60 {
			if c.Quiet.contains(day.Add(time.Duration(m) * time.Minute)) {
				quiet++
			}
		}
		if want := ((c.Quiet.To-c.Quiet.From)%(24*60) + 24*60) % (24 * 60); quiet != want {
			t.Fatalf("quiet hours %+v: %d minutes a day, want %d", c.Quiet, quiet, want)
		}
	})
}

func capsOf(c Catalogue) []FrequencyCap {
	var caps []FrequencyCap
	for _, cr := range c.Creatives {
		caps = append(caps, cr.Cap)
	}
	return caps
}
