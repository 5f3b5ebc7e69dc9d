package ledger

import (
	"context"
	"testing"
)

// TestTemplateIsTheMigratedSchema: a new ledger, copied from the template,
// is the database the migrations make.
func TestTemplateIsTheMigratedSchema(t *testing.T) {
	if err := template.Verify(context.Background(), t.TempDir()); err != nil {
		t.Fatal(err)
	}
}
