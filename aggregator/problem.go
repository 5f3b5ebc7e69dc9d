package aggregator

import (
	"encoding/json"
	"errors"
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
	EInvalid      Code = "invalid"      // 400
	EUnauthorized Code = "unauthorized" // 401
	EForbidden    Code = "forbidden"    // 403
	ENotFound     Code = "not_found"    // 404
	EConflict     Code = "conflict"     // 409
	EPolicy       Code = "policy"       // 422: valid, but outside the operator's policy
)

// Error is an application error with a code and a message safe to show.
type Error struct {
	Code    Code
	Message string
}

func (e *Error) Error() string { return "aggregator: " + e.Message }

func errorf(code Code, msg string) error { return &Error{Code: code, Message: msg} }

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
	}
	return http.StatusInternalServerError
}

// fail writes err as a problem document.
func (s *Server) fail(w http.ResponseWriter, err error) {
	var e *Error
	switch {
	case errors.As(err, &e):
		s.problem(w, e.Code.Status(), string(e.Code), errors.New(e.Message))
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
	detail := ""
	if status >= 500 {
		s.log.Error(title, "err", err)
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
	json.NewEncoder(w).Encode(map[string]any{"type": "about:blank", "title": title, "status": status, "detail": detail})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}
