package privpass

import "testing"

// BenchmarkIssue is one token's issuance: the device's Begin and Finalize
// and the issuer's Evaluate.
func BenchmarkIssue(b *testing.B) {
	iss := testIssuers(b)[0]
	ch := challengeOf(b, "issuer.example", "shoes", 7)
	for b.Loop() {
		issue(b, iss, ch)
	}
}

// BenchmarkEvaluate is the issuer's part alone (one RSA-2048 private-key operation).
func BenchmarkEvaluate(b *testing.B) {
	iss := testIssuers(b)[0]
	req, _, err := Begin(iss.PublicKey(), challengeOf(b, "i", "c", 1))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := iss.Evaluate(req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify is an aggregator's check of one token.
func BenchmarkVerify(b *testing.B) {
	iss := testIssuers(b)[0]
	ch := challengeOf(b, "issuer.example", "shoes", 7)
	tok := issue(b, iss, ch)
	for b.Loop() {
		if err := Verify(iss.PublicKey(), &tok, ch); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGenerateIssuer is one (campaign, epoch) token key.
func BenchmarkGenerateIssuer(b *testing.B) {
	for b.Loop() {
		if _, err := GenerateIssuer(); err != nil {
			b.Fatal(err)
		}
	}
}
