// Package loyalty holds Tally's domain: tenants, customers, program rules, points arithmetic and the
// coded errors every layer reports. It does no I/O.
package loyalty

import (
	"errors"
	"fmt"
)

// Code is an error code of the reference API's catalogue (1xxx auth, 3xxx payload, 4xxx general,
// 5xxx server, 7xxx customer, 9xxx transaction). The HTTP layer maps each code to a status in one place.
type Code int

// The codes Tally reports.
const (
	CodeUnauthorized       Code = 1000
	CodeSecretKeyRequired  Code = 1001
	CodeMissingArguments   Code = 3000
	CodeNullArguments      Code = 3001
	CodeInvalidValue       Code = 3003
	CodeLimitExceeded      Code = 3011
	CodeUnsupported        Code = 3013
	CodeInvalidPayload     Code = 3016
	CodeFailed             Code = 4000
	CodeNotFound           Code = 4004
	CodeTooManyRequests    Code = 4029
	CodeMethodNotAllowed   Code = 4005
	CodeInternal           Code = 5000
	CodeUnavailable        Code = 5003
	CodeCashbackDisabled   Code = 6001
	CodeCustomerNotFound   Code = 7000
	CodeTransactionUnknown Code = 9002
	CodeDuplicate          Code = 9004
	CodeHoldNotFound       Code = 9006
	CodeInsufficient       Code = 9008
)

// Type is the broad category the reference API puts beside each code.
func (c Code) Type() string {
	switch c / 1000 {
	case 1:
		return "Authentication Error"
	case 2:
		return "Request Error"
	case 3:
		return "Payload Error"
	case 4:
		return "General Error"
	case 5:
		return "Server Error"
	case 6:
		return "Configurations Error"
	case 7:
		return "Customer Error"
	case 9:
		return "Transactions Error"
	}
	return "Error"
}

// FieldError names one offending field of a request, in the path syntax clients see
// (for example "body[17].orderDate" or "customerAttributes.email").
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is a failure the caller can act on: a code from the catalogue, a message for people, and for
// validation failures the fields at fault.
type Error struct {
	Code    Code
	Message string
	Fields  []FieldError
}

func (e *Error) Error() string {
	if len(e.Fields) > 0 {
		return fmt.Sprintf("%d: %s (%s: %s)", e.Code, e.Message, e.Fields[0].Field, e.Fields[0].Message)
	}
	return fmt.Sprintf("%d: %s", e.Code, e.Message)
}

// Errorf returns an *Error with a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldErrorf returns an *Error about one field; its message names the field too, so that clients that
// read only `message` still learn which field is wrong.
func FieldErrorf(code Code, field, format string, args ...any) *Error {
	msg := fmt.Sprintf(format, args...)
	return &Error{Code: code, Message: field + ": " + msg, Fields: []FieldError{{Field: field, Message: msg}}}
}

// AsError returns the *Error inside err, if there is one.
func AsError(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}

// WithFieldPrefix returns a copy of e whose field paths start with prefix (for example "body[3].").
func (e *Error) WithFieldPrefix(prefix string) *Error {
	c := *e
	c.Fields = make([]FieldError, len(e.Fields))
	for i, f := range e.Fields {
		c.Fields[i] = FieldError{Field: prefix + f.Field, Message: f.Message}
	}
	if len(e.Fields) > 0 {
		c.Message = prefix + e.Message
	}
	return &c
}
