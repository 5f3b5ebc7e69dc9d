package demo_test

import (
	"bytes"
	"context"
	"math"
	"strings"
	"testing"

	demobench "github.com/wisp-project/wisp/cmd/wisp/internal/bench/demo"
)

func TestMeasure(t *testing.T) {
	rep, err := demobench.Measure(context.Background(), demobench.Options{Devices: 40, Small: 10, Floors: 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Runs) != 2 || rep.Runs[0].Devices != 10 || rep.Runs[1].Devices != 40 {
		t.Fatalf("runs %+v", rep.Runs)
	}
	for _, r := range rep.Runs {
		if r.Reports < r.Devices || r.CPUSeconds <= 0 || r.WallSeconds <= 0 {
			t.Errorf("run %+v: every device answers at least one campaign, and a run costs time", r)
		}
	}
	if rep.DeviceCPUMs <= 0 {
		t.Errorf("a device adds %v ms", rep.DeviceCPUMs)
	}
	cores := float64(rep.CPUs)
	if want := (rep.FixedCPUSeconds + rep.DeviceCPUMs/1e3*demobench.GoalDevices) / cores; math.Abs(rep.ProjectedSeconds-want) > 1e-9 {
		t.Errorf("projected %v s, want %v", rep.ProjectedSeconds, want)
	}
	if math.Abs(rep.RatioToGoal-rep.ProjectedSeconds/demobench.GoalSeconds) > 1e-9 {
		t.Errorf("ratio %v for %v s", rep.RatioToGoal, rep.ProjectedSeconds)
	}
	if len(rep.Floors) != 2 {
		t.Fatalf("floors %+v", rep.Floors)
	}
	for _, f := range rep.Floors {
		if f.MsPerDevice <= 0 || math.Abs(f.OfBudget-f.MsPerDevice/rep.BudgetMsPerDevice) > 1e-9 {
			t.Errorf("floor %+v against a budget of %v ms", f, rep.BudgetMsPerDevice)
		}
	}
	var out bytes.Buffer
	demobench.WriteText(&out, rep)
	for _, want := range []string{"10,000 devices", "goal 10 s", "two stores created, opened, closed", "uploads on fresh connections"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, out.String())
		}
	}
}

func TestMeasureRefusesBadOptions(t *testing.T) {
	for _, o := range []demobench.Options{{Devices: 10, Small: 10, Floors: 1}, {Devices: 10, Small: 0, Floors: 1}, {Devices: 10, Small: 5}} {
		if _, err := demobench.Measure(context.Background(), o); err == nil || !strings.Contains(err.Error(), "small < devices") {
			t.Errorf("%+v: %v", o, err)
		}
	}
}
