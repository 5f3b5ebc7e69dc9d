package api

// Result shapes of the question types beyond a threshold's segment size
// (GET /v1/segments, GET /v1/campaigns/{id}/results; see
// docs/AGGREGATOR.md). A released segment carries exactly one of: the
// size estimate fields (threshold), "top_k", or "mean".

// TopKResult is a top_k campaign's released histogram for one epoch:
// per category, the estimated number of reporters whose top-K set holds
// it.
type TopKResult struct {
	K int `json:"k"`
	// Consistency names the post-processing behind each category's
	// "consistent" value: "clip_non_negative" (the known total n·K holds
	// only when every device has K positive scores, so Wisp does not force
	// the sum to it).
	Consistency string             `json:"consistency"`
	Categories  []CategoryEstimate `json:"categories"`
}

// CategoryEstimate is one category of a top_k histogram.
type CategoryEstimate struct {
	Category     uint32 `json:"category"`
	CategoryName string `json:"category_name"`
	// Estimate is unbiased, with its exact variance and 95% interval (not
	// clipped); Share is Estimate divided by the number of reports.
	Estimate float64 `json:"estimate"`
	Variance float64 `json:"variance"`
	CILow    float64 `json:"ci_low"`
	CIHigh   float64 `json:"ci_high"`
	Share    float64 `json:"share"`
	// Consistent is the post-processed value (TopKResult.Consistency):
	// biased, never negative, shown beside the unbiased estimate.
	Consistent float64 `json:"consistent"`
}

// MeanResult is a mean campaign's released estimate for one epoch: the
// reporters' mean score for the category, in [0, 1].
type MeanResult struct {
	Mean     float64 `json:"mean"`
	Variance float64 `json:"variance"`
	CILow    float64 `json:"ci_low"`
	CIHigh   float64 `json:"ci_high"`
	// Consistent is Mean clipped to [0, 1].
	Consistent float64 `json:"consistent"`
}
