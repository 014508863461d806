package loyalty

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Tenant is one merchant's loyalty program: every object belongs to exactly one tenant.
type Tenant struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"createdAt"`
}

// CustomerAttributes are the profile fields of the reference API. On an update, fields left out keep
// their stored value and keys of Custom are merged into the stored ones.
type CustomerAttributes struct {
	DisplayName       string                     `json:"displayName,omitempty"`
	FirstName         string                     `json:"firstName,omitempty"`
	LastName          string                     `json:"lastName,omitempty"`
	Email             string                     `json:"email,omitempty"`
	Gender            string                     `json:"gender,omitempty"`
	Mobile            string                     `json:"mobile,omitempty"`
	DateOfBirth       string                     `json:"dateOfBirth,omitempty"`
	JoinDate          string                     `json:"joinDate,omitempty"`
	Country           string                     `json:"country,omitempty"`
	City              string                     `json:"city,omitempty"`
	Zip               string                     `json:"zip,omitempty"`
	PreferredLanguage string                     `json:"preferredLanguage,omitempty"`
	Source            string                     `json:"source,omitempty"`
	Channel           string                     `json:"channel,omitempty" enum:"mobile,pos,web,callcenter"`
	LastOrderDate     string                     `json:"lastOrderDate,omitempty"`
	Utms              []json.RawMessage          `json:"utms,omitempty"`
	Devices           []json.RawMessage          `json:"devices,omitempty"`
	PaymentMethods    []string                   `json:"paymentMethods,omitempty"`
	TotalSpent        *json.Number               `json:"totalSpent,omitempty"`
	TotalOrders       *int64                     `json:"totalOrders,omitempty"`
	AvgOrderAmount    *json.Number               `json:"avgOrderAmount,omitempty"`
	Custom            map[string]json.RawMessage `json:"custom,omitempty"`
	// Tags, when present, replace the customer's tags: [] removes them all, and an update that
	// leaves the field out keeps them. They follow the rules of the tag endpoints: each is trimmed,
	// empty and repeated tags are dropped, and at most MaxTags of at most MaxTagLength characters
	// remain. They are stored as the customer's Tags, never among the stored attributes.
	Tags []string `json:"tags,omitempty" doc:"Replaces the customer's tags when present; [] removes them all."`
}

// CustomerRequest is the body of POST /customers and one item of the customers batch.
type CustomerRequest struct {
	CustomerID         string              `json:"customerId" doc:"Your unique, permanent id of the customer."`
	Email              string              `json:"email,omitempty"`
	Mobile             string              `json:"mobile,omitempty"`
	Guest              *bool               `json:"guest,omitempty" doc:"True for a guest (unregistered) customer."`
	CustomerAttributes *CustomerAttributes `json:"customerAttributes,omitempty"`
}

// Validate checks the request against the documented limits and puts customerAttributes.tags in
// the form a customer holds them (see CustomerAttributes.Tags).
func (r *CustomerRequest) Validate() error {
	err := FirstError(
		CheckID("customerId", r.CustomerID),
		CheckString("email", r.Email, MaxShortString),
		CheckString("mobile", r.Mobile, MaxShortString),
	)
	if err != nil || r.CustomerAttributes == nil {
		return err
	}
	return r.CustomerAttributes.validate("customerAttributes.")
}

func (a *CustomerAttributes) validate(prefix string) error {
	strs := []struct {
		name, v string
	}{
		{"displayName", a.DisplayName}, {"firstName", a.FirstName}, {"lastName", a.LastName},
		{"email", a.Email}, {"gender", a.Gender}, {"mobile", a.Mobile}, {"dateOfBirth", a.DateOfBirth},
		{"joinDate", a.JoinDate}, {"country", a.Country}, {"city", a.City}, {"zip", a.Zip},
		{"preferredLanguage", a.PreferredLanguage}, {"source", a.Source}, {"channel", a.Channel},
		{"lastOrderDate", a.LastOrderDate},
	}
	for _, s := range strs {
		if err := CheckString(prefix+s.name, s.v, MaxShortString); err != nil {
			return err
		}
	}
	if a.Channel != "" && !slices.Contains([]string{"mobile", "pos", "web", "callcenter"}, a.Channel) {
		return FieldErrorf(CodeInvalidValue, prefix+"channel", "must be one of mobile, pos, web, callcenter")
	}
	lists := []struct {
		name string
		n    int
	}{{"utms", len(a.Utms)}, {"devices", len(a.Devices)}, {"paymentMethods", len(a.PaymentMethods)}}
	for _, l := range lists {
		if l.n > MaxListItems {
			return FieldErrorf(CodeInvalidValue, prefix+l.name, "must hold at most %d entries", MaxListItems)
		}
	}
	for i, p := range a.PaymentMethods {
		if err := CheckString(fmt.Sprintf("%spaymentMethods[%d]", prefix, i), p, MaxShortString); err != nil {
			return err
		}
	}
	if a.Tags != nil {
		tags, err := cleanTags(a.Tags, prefix+"tags", func(i int) string { return fmt.Sprintf("%stags[%d]", prefix, i) })
		if err != nil {
			return err
		}
		a.Tags = tags
	}
	if a.TotalOrders != nil && *a.TotalOrders < 0 {
		return FieldErrorf(CodeInvalidValue, prefix+"totalOrders", "must not be negative")
	}
	if len(a.Custom) > MaxCustomKeys {
		return FieldErrorf(CodeInvalidValue, prefix+"custom", "must hold at most %d keys", MaxCustomKeys)
	}
	size := 0
	for k, v := range a.Custom {
		if k == "" || len(k) > MaxCustomKeyLength {
			return FieldErrorf(CodeInvalidValue, prefix+"custom", "keys must be 1 to %d bytes", MaxCustomKeyLength)
		}
		size += len(k) + len(v)
	}
	if size > MaxCustomBytes {
		return FieldErrorf(CodeInvalidValue, prefix+"custom", "must be at most %d bytes", MaxCustomBytes)
	}
	return nil
}

// Merge returns the attributes stored after an update with next: set fields replace, unset fields
// keep their old value, custom keys merge.
func (a CustomerAttributes) Merge(next *CustomerAttributes) CustomerAttributes {
	if next == nil {
		return a
	}
	out := *next
	keepStr := func(dst *string, old string) {
		if *dst == "" {
			*dst = old
		}
	}
	keepStr(&out.DisplayName, a.DisplayName)
	keepStr(&out.FirstName, a.FirstName)
	keepStr(&out.LastName, a.LastName)
	keepStr(&out.Email, a.Email)
	keepStr(&out.Gender, a.Gender)
	keepStr(&out.Mobile, a.Mobile)
	keepStr(&out.DateOfBirth, a.DateOfBirth)
	keepStr(&out.JoinDate, a.JoinDate)
	keepStr(&out.Country, a.Country)
	keepStr(&out.City, a.City)
	keepStr(&out.Zip, a.Zip)
	keepStr(&out.PreferredLanguage, a.PreferredLanguage)
	keepStr(&out.Source, a.Source)
	keepStr(&out.Channel, a.Channel)
	keepStr(&out.LastOrderDate, a.LastOrderDate)
	if out.Utms == nil {
		out.Utms = a.Utms
	}
	if out.Devices == nil {
		out.Devices = a.Devices
	}
	if out.PaymentMethods == nil {
		out.PaymentMethods = a.PaymentMethods
	}
	if out.TotalSpent == nil {
		out.TotalSpent = a.TotalSpent
	}
	if out.TotalOrders == nil {
		out.TotalOrders = a.TotalOrders
	}
	if out.AvgOrderAmount == nil {
		out.AvgOrderAmount = a.AvgOrderAmount
	}
	if len(a.Custom) > 0 {
		merged := make(map[string]json.RawMessage, len(a.Custom)+len(next.Custom))
		for k, v := range a.Custom {
			merged[k] = v
		}
		for k, v := range next.Custom {
			merged[k] = v
		}
		out.Custom = merged
	}
	return out
}

// Customer is a stored customer profile.
type Customer struct {
	GameballID int64              `json:"gameballId" doc:"Tally's numeric id of the customer."`
	CustomerID string             `json:"customerId"`
	Email      string             `json:"email,omitempty"`
	Mobile     string             `json:"mobile,omitempty"`
	Guest      bool               `json:"guest"`
	Attributes CustomerAttributes `json:"customerAttributes"`
	Tags       []string           `json:"tags"`
	CreatedAt  time.Time          `json:"createdAt"`
	UpdatedAt  time.Time          `json:"updatedAt"`
}

// ParseTags splits the reference API's comma-separated tag list by the rules of cleanTags; the list
// must name at least one tag.
func ParseTags(field, list string) ([]string, error) {
	tags, err := cleanTags(strings.Split(list, ","), field, func(int) string { return field })
	if err != nil {
		return nil, err
	}
	if len(tags) == 0 {
		return nil, FieldErrorf(CodeMissingArguments, field, "must name at least one tag")
	}
	return tags, nil
}

// cleanTags returns tags in the form a customer holds them: each trimmed, empty and repeated ones
// dropped, each of the rest at most MaxTagLength characters, and at most MaxTags of them. The result
// is never nil. An error names the list as field and its i-th tag as tagField(i).
func cleanTags(tags []string, field string, tagField func(i int) string) ([]string, error) {
	clean := []string{}
	for i, t := range tags {
		t = strings.TrimSpace(t)
		if t == "" || slices.Contains(clean, t) {
			continue
		}
		if err := CheckString(tagField(i), t, MaxTagLength); err != nil {
			return nil, err
		}
		// Stopping at the first tag too many also bounds the cost of the look-ups above.
		if len(clean) == MaxTags {
			return nil, FieldErrorf(CodeInvalidValue, field, "must name at most %d tags", MaxTags)
		}
		clean = append(clean, t)
	}
	return clean, nil
}
