package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/tally-loyalty/tally/internal/loyalty"
	"github.com/tally-loyalty/tally/internal/money"
	"github.com/tally-loyalty/tally/internal/store"
)

// rulesCache holds compiled rules by the program JSON they come from: a batch runs many operations
// under one program, and decoding it again for each would cost more than the operation's own work.
// Rules are plain values, so sharing them is safe; programs change rarely, so the cache stays small.
var rulesCache sync.Map // string -> loyalty.Rules

// decodeProgram decodes a tenant's stored program ("" when the tenant has not set one).
func decodeProgram(tenantID int64, raw string) (loyalty.Program, error) {
	if raw == "" {
		return loyalty.DefaultProgram(), nil
	}
	p, err := loyalty.DecodeProgram([]byte(raw))
	if err != nil {
		return p, fmt.Errorf("engine: stored program of tenant %d: %w", tenantID, err)
	}
	return p, nil
}

// rules returns the rules of the tenant's program as it is now. Every operation reads them inside
// its own transaction and records what it computed with them, so a program change applies to later
// transactions only.
func (e *Engine) rules(ctx context.Context, tx *store.Tx, tenantID int64) (loyalty.Rules, error) {
	raw, err := tx.ProgramJSON(ctx, tenantID)
	if err != nil {
		return loyalty.Rules{}, err
	}
	if r, ok := rulesCache.Load(raw); ok {
		return r.(loyalty.Rules), nil
	}
	p, err := decodeProgram(tenantID, raw)
	if err != nil {
		return loyalty.Rules{}, err
	}
	r, err := p.Compile()
	if err != nil {
		return loyalty.Rules{}, fmt.Errorf("engine: stored program of tenant %d: %w", tenantID, err)
	}
	rulesCache.Store(raw, r)
	return r, nil
}

// Program returns the tenant's loyalty program: the defaults until one is set.
func (e *Engine) Program(ctx context.Context, tx *store.Tx, tenantID int64) (loyalty.Program, error) {
	raw, err := tx.ProgramJSON(ctx, tenantID)
	if err != nil {
		return loyalty.Program{}, err
	}
	return decodeProgram(tenantID, raw)
}

// SetProgram validates and stores the tenant's whole loyalty program and returns it. It applies to
// transactions after it; nothing recorded before changes.
func (e *Engine) SetProgram(ctx context.Context, tx *store.Tx, tenantID int64, p *loyalty.Program) (loyalty.Program, error) {
	if p.EventRules == nil {
		p.EventRules = []loyalty.EventRule{}
	}
	if _, err := p.Compile(); err != nil {
		return loyalty.Program{}, err
	}
	raw, err := json.Marshal(p)
	if err != nil {
		return loyalty.Program{}, fmt.Errorf("engine: encode program: %w", err)
	}
	if err := tx.SetProgramJSON(ctx, tenantID, string(raw)); err != nil {
		return loyalty.Program{}, err
	}
	return *p, nil
}

// CashbackConfiguration is the answer of GET /configurations/cashback: the program's cashback rule
// in the reference API's terms (Tally has no tiers, so no tier rules).
type CashbackConfiguration struct {
	DefaultCashbackRule CashbackRule   `json:"defaultCashbackRule"`
	TierCashbackRules   []CashbackRule `json:"tierCashbackRules"`
}

// CashbackRule is one cashback rule in the reference API's terms.
type CashbackRule struct {
	AmountRewardThreshold json.Number `json:"amountRewardThreshold" doc:"The minimum amount that earns cashback (the program's cashback.minimumOrderValue)."`
	RewardWalletFactor    json.Number `json:"rewardWalletFactor" doc:"Points earned per unit of currency paid (rounded down to 4 decimals); 0 when cashback is disabled."`
	RewardRankFactor      json.Number `json:"rewardRankFactor" doc:"Always 0: Tally has no tiers."`
	RewardFactor          json.Number `json:"rewardFactor" doc:"The percent of what is paid returned as points (the program's cashback.ratePercent); 0 when cashback is disabled."`
}

// RedemptionConfiguration is the answer of GET /configurations/redemption.
type RedemptionConfiguration struct {
	RedemptionFactor json.Number `json:"redemptionFactor" doc:"Money value of one point (the program's pointValue)."`
	RedemptionRules  []struct{}  `json:"redemptionRules" doc:"Always empty: Tally redeems points as money, without coupon rules."`
}

// CashbackConfig describes the tenant's cashback rule in the reference API's terms.
func (e *Engine) CashbackConfig(ctx context.Context, tx *store.Tx, tenantID int64) (CashbackConfiguration, error) {
	r, err := e.rules(ctx, tx, tenantID)
	if err != nil {
		return CashbackConfiguration{}, err
	}
	rule := CashbackRule{AmountRewardThreshold: r.Money(r.MinimumOrder), RewardWalletFactor: "0", RewardRankFactor: "0", RewardFactor: "0"}
	if r.Cashback {
		rule.RewardWalletFactor = r.PointsPerUnit()
		rule.RewardFactor = json.Number(money.FormatPercent(r.CashbackRate))
	}
	return CashbackConfiguration{DefaultCashbackRule: rule, TierCashbackRules: []CashbackRule{}}, nil
}

// RedemptionConfig describes how the tenant's points are redeemed, in the reference API's terms.
func (e *Engine) RedemptionConfig(ctx context.Context, tx *store.Tx, tenantID int64) (RedemptionConfiguration, error) {
	r, err := e.rules(ctx, tx, tenantID)
	if err != nil {
		return RedemptionConfiguration{}, err
	}
	return RedemptionConfiguration{RedemptionFactor: json.Number(money.FormatPointValue(r.PointValue, r.Decimals)),
		RedemptionRules: []struct{}{}}, nil
}
