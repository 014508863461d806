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

// compiledProgram is a tenant's program with its rules.
type compiledProgram struct {
	program loyalty.Program
	rules   loyalty.Rules
}

// programs caches compiled programs by their stored JSON: a batch runs many operations under one
// program, and decoding it again for each would cost more than the operation's own work. Programs
// change rarely, so the cache stays small.
var programs sync.Map // string -> compiledProgram

// loadProgram returns the tenant's program and its rules as they are now. Every operation reads it
// inside its own transaction and records what it computed with it, so a program change applies to
// later transactions only.
func (e *Engine) loadProgram(ctx context.Context, tx *store.Tx, tenantID int64) (compiledProgram, error) {
	raw, err := tx.ProgramJSON(ctx, tenantID)
	if err != nil {
		return compiledProgram{}, err
	}
	if c, ok := programs.Load(raw); ok {
		return c.(compiledProgram), nil
	}
	p := loyalty.DefaultProgram()
	if raw != "" {
		if p, err = loyalty.DecodeProgram([]byte(raw)); err != nil {
			return compiledProgram{}, fmt.Errorf("engine: stored program of tenant %d: %w", tenantID, err)
		}
	}
	rules, err := p.Compile()
	if err != nil {
		return compiledProgram{}, fmt.Errorf("engine: stored program of tenant %d: %w", tenantID, err)
	}
	c := compiledProgram{program: p, rules: rules}
	programs.Store(raw, c)
	return c, nil
}

func (e *Engine) rules(ctx context.Context, tx *store.Tx, tenantID int64) (loyalty.Rules, error) {
	c, err := e.loadProgram(ctx, tx, tenantID)
	return c.rules, err
}

// Program returns the tenant's loyalty program: the defaults until one is set.
func (e *Engine) Program(ctx context.Context, tx *store.Tx, tenantID int64) (loyalty.Program, error) {
	c, err := e.loadProgram(ctx, tx, tenantID)
	return c.program, err
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
	c, err := e.loadProgram(ctx, tx, tenantID)
	if err != nil {
		return CashbackConfiguration{}, err
	}
	r := c.rules
	rule := CashbackRule{AmountRewardThreshold: r.Money(r.MinimumOrder), RewardWalletFactor: "0", RewardRankFactor: "0", RewardFactor: "0"}
	if r.Cashback {
		rule.RewardWalletFactor = r.PointsPerUnit()
		rule.RewardFactor = json.Number(money.FormatPercent(r.CashbackRate))
	}
	return CashbackConfiguration{DefaultCashbackRule: rule, TierCashbackRules: []CashbackRule{}}, nil
}

// RedemptionConfig describes how the tenant's points are redeemed, in the reference API's terms.
func (e *Engine) RedemptionConfig(ctx context.Context, tx *store.Tx, tenantID int64) (RedemptionConfiguration, error) {
	c, err := e.loadProgram(ctx, tx, tenantID)
	if err != nil {
		return RedemptionConfiguration{}, err
	}
	return RedemptionConfiguration{RedemptionFactor: json.Number(money.FormatPointValue(c.rules.PointValue, c.rules.Decimals)),
		RedemptionRules: []struct{}{}}, nil
}
