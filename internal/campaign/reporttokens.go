package campaign

import (
	"fmt"
	"net/url"
	"unicode"
)

// ReportTokens is the optional report-token part of a signed campaign
// config (issue 16 item 7): each report must carry a Privacy Pass token
// (internal/privpass) that the named issuer signed for this campaign and
// the report's epoch. An issuer signs one per device and epoch, after
// checking the device maker's credential, so an attacker needs one device
// credential per report to pad a segment.
type ReportTokens struct {
	// IssuerURL is where devices ask for tokens and aggregators fetch the
	// issuer's keys: POST /v1/report-tokens, GET /v1/report-token-keys.
	IssuerURL string `json:"issuer_url"`
	// IssuerName is the issuer_name of the tokens' challenge.
	IssuerName string `json:"issuer_name"`
}

// MaxIssuerNameLen bounds ReportTokens.IssuerName.
const MaxIssuerNameLen = 255

// validate checks r (nil: no tokens, valid).
func (r *ReportTokens) validate() error {
	if r == nil {
		return nil
	}
	if u, err := url.Parse(r.IssuerURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("issuer_url %q is not an http(s) URL", r.IssuerURL)
	}
	if r.IssuerName == "" || len(r.IssuerName) > MaxIssuerNameLen {
		return fmt.Errorf("issuer_name of %d bytes is not 1-%d", len(r.IssuerName), MaxIssuerNameLen)
	}
	for _, c := range r.IssuerName {
		if !unicode.IsPrint(c) || c > unicode.MaxASCII {
			return fmt.Errorf("issuer_name %q is not printable ASCII", r.IssuerName)
		}
	}
	return nil
}

// RequiresTokens reports whether c's reports must carry a report token.
func (c *Campaign) RequiresTokens() bool { return c.ReportTokens != nil }
