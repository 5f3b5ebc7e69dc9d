// Package dashboard is the marketer's web dashboard: a few static files
// (one HTML page, one hand-written script, one style sheet; no framework, no
// build step, nothing from a CDN) embedded in the aggregator binary and
// served under /dashboard/, plus the IAB Audience Taxonomy 1.1 Interest
// subtree as JSON for the campaign form's category search.
//
// The page is a client of the aggregator's REST API and nothing else: it
// signs in with an API token, which it keeps in the tab's sessionStorage and
// sends as a bearer token, so it sees exactly what the token's role may see
// (an operator every tenant, a marketer only their own). Charts are inline
// SVG drawn by app.js: segment size per epoch with 95% confidence intervals
// as error bars, suppressed (below k) epochs marked as such, and a trend
// chart comparing campaigns across epochs.
//
// The page is tested in a real headless Chromium (chromedp) against a real
// aggregator on 127.0.0.1; see dashboard_browser_test.go and
// docs/DASHBOARD.md.
package dashboard
