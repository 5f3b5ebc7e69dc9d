package aggregator

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/wisp-project/wisp/aggregator/store"
	"github.com/wisp-project/wisp/internal/api"
	"github.com/wisp-project/wisp/internal/wire"
)

func (s *Server) handleReports(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			s.problem(w, http.StatusRequestEntityTooLarge, "batch too large", fmt.Errorf("limit is %d bytes", s.maxBody))
			return
		}
		s.problem(w, http.StatusBadRequest, "cannot read body", err)
		return
	}
	batch, err := wire.DecodeBatch(body)
	if err != nil {
		s.problem(w, http.StatusBadRequest, "malformed batch", err)
		return
	}
	resp := api.IngestResponse{Results: make([]api.Result, len(batch.Reports))}
	var opened []store.Report
	var where []int // index in the batch of each opened report
	for i, raw := range batch.Reports {
		rep, res := s.open(raw)
		resp.Results[i] = res
		if res.Reason == "" {
			opened = append(opened, rep)
			where = append(where, i)
		}
	}
	if len(opened) > 0 {
		fresh, err := s.store.Insert(r.Context(), opened)
		if err != nil {
			// Nothing of this batch is acknowledged; the device retries.
			s.problem(w, http.StatusServiceUnavailable, "store unavailable", err)
			return
		}
		for j, i := range where {
			if fresh[j] {
				resp.Results[i].Accepted = true
			} else {
				resp.Results[i].Reason = api.ReasonReplay
			}
		}
	}
	for _, res := range resp.Results {
		if res.Accepted {
			resp.Accepted++
		} else {
			resp.Rejected++
		}
	}
	writeJSON(w, http.StatusOK, resp)
}

// open decodes, routes, decrypts and checks one report.
func (s *Server) open(raw []byte) (store.Report, api.Result) {
	reject := func(reason api.Reason, err error) (store.Report, api.Result) {
		return store.Report{}, api.Result{Reason: reason, Detail: err.Error()}
	}
	e, err := wire.DecodeEnvelope(raw)
	if errors.Is(err, wire.ErrVersion) {
		return reject(api.ReasonVersion, err)
	} else if err != nil {
		return reject(api.ReasonMalformed, err)
	}
	id := hex.EncodeToString(e.ID[:])
	withID := func(rep store.Report, res api.Result) (store.Report, api.Result) {
		res.ReportID = id
		return rep, res
	}
	c, ok := s.campaigns[e.Campaign]
	if !ok {
		return withID(reject(api.ReasonUnknownCampaign, fmt.Errorf("campaign %q", e.Campaign)))
	}
	key, ok := s.keys[e.KeyID]
	if !ok {
		return withID(reject(api.ReasonUnknownKey, fmt.Errorf("key id %d", e.KeyID)))
	}
	p, err := key.Open(&e)
	switch {
	case errors.Is(err, wire.ErrDecrypt):
		return withID(reject(api.ReasonDecrypt, err))
	case err != nil:
		return withID(reject(api.ReasonMalformed, err))
	case p.Mechanism != uint8(c.Mechanism()) || len(p.Answer) != 1 || p.Answer[0] > 1:
		return withID(reject(api.ReasonBadAnswer, fmt.Errorf("mechanism %d answer of %d bytes for a %v campaign", p.Mechanism, len(p.Answer), c.Mechanism())))
	}
	rep := store.Report{ID: e.ID, Campaign: e.Campaign, Epoch: e.Epoch, Mechanism: p.Mechanism, Answer: p.Answer}
	return rep, api.Result{ReportID: id}
}
