// Package api holds the JSON shapes the aggregator's device-facing API
// returns, shared by the server (aggregator) and its clients (host), so the
// two cannot disagree.
package api

// Reason is why a report was rejected. The values are stable: clients and
// metrics match on them.
type Reason string

// Reject reasons.
const (
	ReasonMalformed       Reason = "malformed"
	ReasonVersion         Reason = "unsupported_version"
	ReasonUnknownCampaign Reason = "unknown_campaign"
	ReasonUnknownKey      Reason = "unknown_key"
	ReasonDecrypt         Reason = "decrypt_failure"
	ReasonBadAnswer       Reason = "bad_answer"
	ReasonReplay          Reason = "replay"
	// ReasonKeyExpired: the report is sealed to a key that was rotated out;
	// the device should fetch /v1/hpke-config again and send a new report.
	ReasonKeyExpired Reason = "key_expired"
	// ReasonEpochTooEarly: the report's epoch has not started yet (beyond
	// the allowed clock skew).
	ReasonEpochTooEarly Reason = "epoch_too_early"
	// ReasonEpochTooLate: the report's epoch has closed; its result is or
	// will be released and must not change.
	ReasonEpochTooLate Reason = "epoch_too_late"
	// ReasonCampaignPaused: the campaign was paused or archived before the
	// report's epoch began; the device should stop answering it.
	ReasonCampaignPaused Reason = "campaign_paused"
	// ReasonReportSize: the sealed payload is not the campaign's
	// report_size (every report of a campaign has the same size, so that
	// the size tells nothing about the answer).
	ReasonReportSize Reason = "wrong_report_size"
	// ReasonReportTokenMissing: the campaign requires a report token (its
	// report_tokens) and the upload carried none (Authorization:
	// PrivateToken, one report per upload).
	ReasonReportTokenMissing Reason = "report_token_missing"
	// ReasonReportTokenInvalid: the report token does not verify for this
	// campaign and epoch (forged, under another key or for another
	// campaign epoch, or not a token at all).
	ReasonReportTokenInvalid Reason = "report_token_invalid"
	// ReasonReportTokenReused: another report already redeemed this token.
	ReasonReportTokenReused Reason = "report_token_reused"
)

// AllReasons lists every reason, for metrics and documentation.
func AllReasons() []Reason {
	return []Reason{ReasonMalformed, ReasonVersion, ReasonUnknownCampaign, ReasonUnknownKey, ReasonDecrypt,
		ReasonBadAnswer, ReasonReplay, ReasonKeyExpired, ReasonEpochTooEarly, ReasonEpochTooLate, ReasonCampaignPaused, ReasonReportSize,
		ReasonReportTokenMissing, ReasonReportTokenInvalid, ReasonReportTokenReused}
}

// IsValid reports whether r is a known reason.
func (r Reason) IsValid() bool {
	for _, known := range AllReasons() {
		if r == known {
			return true
		}
	}
	return false
}

// Result is the outcome for one report of a batch, in batch order.
type Result struct {
	ReportID string `json:"report_id,omitempty"` // hex; empty if the report did not decode
	Accepted bool   `json:"accepted"`
	Reason   Reason `json:"reason,omitempty"`
	Detail   string `json:"detail,omitempty"`
}

// IngestResponse is the body of a successful POST /v1/reports answer. Every
// accepted report is durably stored.
type IngestResponse struct {
	Accepted int      `json:"accepted"`
	Rejected int      `json:"rejected"`
	Results  []Result `json:"results"`
	// DetailsOmitted counts results whose detail was left out: a batch
	// gets the detail of only the first few rejections of each reason, so
	// a batch of garbage cannot make the answer many times its size.
	DetailsOmitted int `json:"details_omitted,omitempty"`
}
