package migrate_test

import (
	"testing"
	"testing/fstest"

	"github.com/wisp-project/wisp/internal/migrate"
)

func TestLoadNumbering(t *testing.T) {
	file := &fstest.MapFile{Data: []byte("SELECT 1;")}
	good := fstest.MapFS{"m/0002_b.sql": file, "m/0001_a.sql": file}
	ms, err := migrate.Load(good, "m")
	if err != nil || len(ms) != 2 || ms[0].Name != "0001_a.sql" || ms[1].Version != 2 || ms[1].SQL != "SELECT 1;" {
		t.Fatalf("Load = %+v, %v", ms, err)
	}
	for name, fsys := range map[string]fstest.MapFS{
		"gap":       {"m/0001_a.sql": file, "m/0003_c.sql": file},
		"unpadded":  {"m/1_a.sql": file},
		"not sql":   {"m/0001_a.txt": file},
		"no number": {"m/init.sql": file},
	} {
		if _, err := migrate.Load(fsys, "m"); err == nil {
			t.Errorf("%s: Load accepted %v", name, fsys)
		}
	}
}
