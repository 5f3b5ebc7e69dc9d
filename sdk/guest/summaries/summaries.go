//go:build wasip1

package summaries

//go:wasmexport wisp_summary_v1
func wispSummaryV1() {}
