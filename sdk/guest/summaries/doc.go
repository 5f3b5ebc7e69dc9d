// Package summaries opts a Go plugin into summary batches (sdk/ABI.md 3.1):
// importing it, in a GOOS=wasip1 build, exports the wisp_summary_v1 marker.
// Register the summary scorer with guest.HandleSummaries.
package summaries
