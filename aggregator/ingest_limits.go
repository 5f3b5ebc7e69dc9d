package aggregator

import (
	"fmt"

	"github.com/wisp-project/wisp/internal/api"
	"github.com/wisp-project/wisp/internal/wire"
)

// What bounds the answer to a report batch. A result is a few dozen bytes
// (a report id and a reason); a detail can be a hundred more. Without
// bounds, 10 KB of one-byte "reports" got a 1.5 MB answer.

// minEnvelopeBytes is less than any envelope can be: it holds a 16-byte
// id, a 32-byte X25519 encapsulated key and at least a 16-byte AEAD tag,
// each with its CBOR key and length. A batch item shorter than this is
// not a report anyone sealed.
const minEnvelopeBytes = 16 + 32 + 16

// detailsPerReason is how many results of one reject reason in one batch
// carry a detail; the rest carry the reason only (they are alike).
const detailsPerReason = 3

// decodeBatch decodes a batch body and refuses, as a whole, one with an
// item too short to be a report: every result then costs at most about
// as many bytes as its item, so the answer stays within a small multiple
// of the body.
func decodeBatch(body []byte) (wire.Batch, error) {
	batch, err := wire.DecodeBatch(body)
	if err != nil {
		return batch, err
	}
	for i, r := range batch.Reports {
		if len(r) < minEnvelopeBytes {
			return wire.Batch{}, fmt.Errorf("%w: report %d is %d bytes, no report is shorter than %d", wire.ErrMalformed, i, len(r), minEnvelopeBytes)
		}
	}
	return batch, nil
}

// capDetails keeps the detail of the first detailsPerReason rejections of
// each reason and drops the others', counting them.
func capDetails(resp *api.IngestResponse) {
	seen := map[api.Reason]int{}
	for i := range resp.Results {
		res := &resp.Results[i]
		if res.Detail == "" {
			continue
		}
		if seen[res.Reason]++; seen[res.Reason] > detailsPerReason {
			res.Detail = ""
			resp.DetailsOmitted++
		}
	}
}

// checkSize refuses a report whose sealed payload is not c's report size:
// a device pads every answer to it, so another size is a broken or
// foreign sender — and accepting several sizes would let the size say
// something about the answer.
func checkSize(c *Campaign, e *wire.Envelope) error {
	if want := int(wire.AEAD.CipherLen(uint(c.PaddedSize()))); len(e.Sealed) != want {
		return fmt.Errorf("sealed payload of %d bytes; campaign %q reports are %d (report_size %d plus the AEAD tag)", len(e.Sealed), c.ID, want, c.PaddedSize())
	}
	return nil
}
