package loyalty

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on what a request may hold. They keep one request's cost bounded and are documented in the
// README's API notes; a value past a limit is rejected with CodeInvalidValue and the field named.
const (
	MaxIDLength        = 128  // customerId, orderId, transactionId, holdReference
	MaxShortString     = 256  // names, emails, attribute strings
	MaxTags            = 50   // tags on one customer
	MaxTagLength       = 64   // one tag
	MaxCustomKeys      = 50   // keys in customerAttributes.custom
	MaxCustomKeyLength = 64   // one key of customerAttributes.custom
	MaxCustomBytes     = 8192 // customerAttributes.custom as JSON
	MaxListItems       = 50   // utms, devices, paymentMethods
)

// CheckID validates an identifier such as customerId: required, at most MaxIDLength characters, valid
// UTF-8, no control characters and no leading or trailing spaces (they make two ids look alike).
func CheckID(field, v string) error {
	switch {
	case v == "":
		return FieldErrorf(CodeMissingArguments, field, "is required")
	case !utf8.ValidString(v):
		return FieldErrorf(CodeInvalidValue, field, "must be valid UTF-8")
	case utf8.RuneCountInString(v) > MaxIDLength:
		return FieldErrorf(CodeInvalidValue, field, "must be at most %d characters", MaxIDLength)
	case strings.TrimSpace(v) != v:
		return FieldErrorf(CodeInvalidValue, field, "must not start or end with spaces")
	case strings.IndexFunc(v, unicode.IsControl) >= 0:
		return FieldErrorf(CodeInvalidValue, field, "must not contain control characters")
	}
	return nil
}

// GeneratedIDPrefix starts every transaction id that Tally makes itself (event awards, adjustments
// without an id). Clients cannot choose ids with it, so a generated id never collides with theirs.
const GeneratedIDPrefix = "tally:"

// CheckNewTransactionID validates an id a client chooses for a new transaction or order: CheckID,
// and not in the namespace of generated ids.
func CheckNewTransactionID(field, v string) error {
	if err := CheckID(field, v); err != nil {
		return err
	}
	if strings.HasPrefix(v, GeneratedIDPrefix) {
		return FieldErrorf(CodeInvalidValue, field, "must not start with %q, which Tally reserves for the ids it generates", GeneratedIDPrefix)
	}
	return nil
}

// CheckString validates an optional free-text field: valid UTF-8 and at most max characters.
func CheckString(field, v string, max int) error {
	if !utf8.ValidString(v) {
		return FieldErrorf(CodeInvalidValue, field, "must be valid UTF-8")
	}
	if strings.ContainsRune(v, 0) { // PostgreSQL cannot store it in text
		return FieldErrorf(CodeInvalidValue, field, "must not contain the NUL character")
	}
	if utf8.RuneCountInString(v) > max {
		return FieldErrorf(CodeInvalidValue, field, "must be at most %d characters", max)
	}
	return nil
}

// FirstError returns the first non-nil error of errs; validators list their checks through it.
func FirstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
