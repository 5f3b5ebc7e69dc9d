package campaign_test

import (
	"reflect"
	"testing"

	"github.com/wisp-project/wisp/internal/campaign"
)

// TestCloneSharesNothing fills every field of a Campaign (by reflection, so
// a field added later is filled too), clones it and checks that the clone
// is equal and that no slice or pointer of it aliases the original's.
func TestCloneSharesNothing(t *testing.T) {
	var c campaign.Campaign
	fill(t, reflect.ValueOf(&c).Elem(), "Campaign")
	got := c.Clone()
	if !reflect.DeepEqual(got, c) {
		t.Fatalf("clone differs:\n%+v\n%+v", got, c)
	}
	noAlias(t, reflect.ValueOf(c), reflect.ValueOf(got), "Campaign")
}

// fill sets every exported field under v to a non-zero value. An
// unexported field of a reference kind fails the test: fill cannot set
// it, so the aliasing check would miss it.
func fill(t *testing.T, v reflect.Value, path string) {
	t.Helper()
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			f, sf := v.Field(i), v.Type().Field(i)
			if !sf.IsExported() {
				switch f.Kind() {
				case reflect.Slice, reflect.Pointer, reflect.Map, reflect.Interface, reflect.Struct:
					t.Fatalf("%s.%s: unexported field of kind %v; extend this test and Clone", path, sf.Name, f.Kind())
				}
				continue
			}
			fill(t, f, path+"."+sf.Name)
		}
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(t, v.Elem(), path)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		for i := range 2 {
			fill(t, v.Index(i), path+"[]")
		}
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(7)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(7)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(0.5)
	default:
		t.Fatalf("%s: kind %v; extend this test and Clone", path, v.Kind())
	}
}

// noAlias fails if a slice or pointer under a and b points to the same
// memory.
func noAlias(t *testing.T, a, b reflect.Value, path string) {
	t.Helper()
	switch a.Kind() {
	case reflect.Struct:
		for i := range a.NumField() {
			if a.Type().Field(i).IsExported() {
				noAlias(t, a.Field(i), b.Field(i), path+"."+a.Type().Field(i).Name)
			}
		}
	case reflect.Pointer:
		if a.Pointer() == b.Pointer() {
			t.Errorf("%s: the clone shares the pointer", path)
			return
		}
		noAlias(t, a.Elem(), b.Elem(), path)
	case reflect.Slice:
		if a.Pointer() == b.Pointer() {
			t.Errorf("%s: the clone shares the slice's array", path)
		}
		for i := range a.Len() {
			noAlias(t, a.Index(i), b.Index(i), path+"[]")
		}
	}
}
