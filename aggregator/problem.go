package aggregator

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"strconv"

	"github.com/wisp-project/wisp/aggregator/store"
	"github.com/wisp-project/wisp/internal/campaign"
)

// Code classifies an application error, as in wtf: one function (fail)
// maps codes to HTTP statuses, and only internal errors are logged.
type Code string

// Error codes.
const (
	EInvalid      Code = "invalid"                // 400
	EUnauthorized Code = "unauthorized"           // 401
	EForbidden    Code = "forbidden"              // 403
	ENotFound     Code = "not_found"              // 404
	EConflict     Code = "conflict"               // 409
	EPolicy       Code = "policy"                 // 422: valid, but outside the operator's policy
	EMediaType    Code = "unsupported_media_type" // 415: a body of another Content-Type
)

// ProblemReason is a stable, machine-readable code for why a request was
// refused, the "reason" member of its problem document (when it has one).
type ProblemReason string

// Problem reasons of a refused campaign.
const (
	ReasonNameTooLong       ProblemReason = "name_too_long"          // longer than Policy.MaxNameBytes
	ReasonTooManyCategories ProblemReason = "too_many_categories"    // more than Policy.MaxCategories
	ReasonCampaignQuota     ProblemReason = "campaign_quota"         // the tenant has Policy.MaxCampaignsPerTenant
	ReasonSensitive         ProblemReason = "sensitive_category"     // asks about Policy.SensitiveCategories
	ReasonTokensRequired    ProblemReason = "report_tokens_required" // has no report_tokens, and Policy.RequireReportTokens
)

// ReasonTokenExpired: the bearer token's expiry (tokens create --ttl) has
// passed (401).
const ReasonTokenExpired ProblemReason = "token_expired"

// Error is an application error with a code and a message safe to show,
// and maybe a reason code.
type Error struct {
	Code    Code
	Message string
	Reason  ProblemReason
}

func (e *Error) Error() string { return "aggregator: " + e.Message }

func errorf(code Code, msg string) error { return &Error{Code: code, Message: msg} }

// refuse is a policy error (422) with a reason code.
func refuse(reason ProblemReason, msg string) error {
	return &Error{Code: EPolicy, Message: msg, Reason: reason}
}

// Status is the HTTP status of an error with code c.
func (c Code) Status() int {
	switch c {
	case EInvalid:
		return http.StatusBadRequest
	case EUnauthorized:
		return http.StatusUnauthorized
	case EForbidden:
		return http.StatusForbidden
	case ENotFound:
		return http.StatusNotFound
	case EConflict:
		return http.StatusConflict
	case EPolicy:
		return http.StatusUnprocessableEntity
	case EMediaType:
		return http.StatusUnsupportedMediaType
	}
	return http.StatusInternalServerError
}

// requireContentType refuses a request body whose Content-Type is not
// want (parameters such as charset allowed): a client sending something
// else has a bug worth telling it about, and a browser form posted across
// sites (text/plain, no preflight) is not taken for an API call.
func requireContentType(r *http.Request, want string) error {
	got := r.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(got); err != nil || mt != want {
		return errorf(EMediaType, fmt.Sprintf("Content-Type %q: this endpoint takes %s", got, want))
	}
	return nil
}

// fail writes err as a problem document.
func (s *Server) fail(w http.ResponseWriter, err error) {
	var e *Error
	switch {
	case errors.As(err, &e):
		s.problemWith(w, e.Code.Status(), string(e.Code), e.Reason, errors.New(e.Message))
	case errors.Is(err, campaign.ErrInvalid):
		s.problem(w, http.StatusBadRequest, string(EInvalid), err)
	case errors.Is(err, store.ErrNotFound):
		s.problem(w, http.StatusNotFound, string(ENotFound), err)
	case errors.Is(err, store.ErrConflict):
		s.problem(w, http.StatusConflict, string(EConflict), err)
	default:
		s.problem(w, http.StatusInternalServerError, "internal error", err)
	}
}

// problem writes an RFC 9457 problem document. Internal errors are logged,
// not shown.
func (s *Server) problem(w http.ResponseWriter, status int, title string, err error) {
	s.problemWith(w, status, title, "", err)
}

// problemWith is problem with a reason code ("" for none).
func (s *Server) problemWith(w http.ResponseWriter, status int, title string, reason ProblemReason, err error) {
	writeProblem(s.log, w, status, title, reason, err)
}

// writeProblem writes an RFC 9457 problem document, logging (not showing)
// internal errors.
func writeProblem(log *slog.Logger, w http.ResponseWriter, status int, title string, reason ProblemReason, err error) {
	detail := ""
	if status >= 500 {
		log.Error(title, "err", err)
	} else if err != nil {
		detail = err.Error()
	}
	if status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests {
		if w.Header().Get("Retry-After") == "" {
			w.Header().Set("Retry-After", strconv.Itoa(1))
		}
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	doc := map[string]any{"type": "about:blank", "title": title, "status": status, "detail": detail}
	if reason != "" {
		doc["reason"] = reason
	}
	json.NewEncoder(w).Encode(doc)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}
