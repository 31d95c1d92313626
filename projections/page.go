package projections

import (
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"

	"github.com/offerflow/offerflow/domain"
)

// Page sizes. The HTTP layer validates ?limit= against the contract (1 to
// 500, else 422); the queries still bound what they are given, so that no
// caller can ask the database for an unbounded list.
const (
	DefaultLimit = 50
	MaxLimit     = 500
)

// ErrBadCursor is returned by list queries given a cursor they did not issue
// (or issued for another list). Its code is domain.EMALFORMED.
var ErrBadCursor = &domain.Error{Code: domain.EMALFORMED, Message: "cursor is not valid", Field: "cursor"}

// limitOf returns the page size to use for a requested limit: the default
// for zero or less, MaxLimit at most.
func limitOf(n int) int {
	switch {
	case n <= 0:
		return DefaultLimit
	case n > MaxLimit:
		return MaxLimit
	}
	return n
}

// cursor is where a page ended, in terms of the list's sort key. It travels
// as base64url JSON; List names the list it belongs to, so that a cursor of
// one list is refused by another instead of silently misread.
type cursor struct {
	List string `json:"l"`
	Key  string `json:"k,omitempty"` // name_key of a list ordered by name
	ID   string `json:"i,omitempty"` // id, the tie-breaker after Key
	Pos  uint64 `json:"p,omitempty"` // position of a list ordered by log position
	Idx  int    `json:"x,omitempty"` // item index, the tie-breaker after Pos
}

func (c cursor) encode() string {
	b, _ := json.Marshal(c) // a struct of strings and numbers always encodes
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor parses s, a cursor of list. ok is false for an empty s (the
// first page).
func decodeCursor(list, s string) (c cursor, ok bool, err error) {
	if s == "" {
		return cursor{}, false, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) > 4096 {
		return cursor{}, false, ErrBadCursor
	}
	if err := json.Unmarshal(b, &c); err != nil || c.List != list {
		return cursor{}, false, ErrBadCursor
	}
	return c, true, nil
}

// pageOf makes a page of items, read with one more row than limit: when that
// extra row came, it is dropped and the cursor names the last item kept.
func pageOf[T any](items []T, limit int, next func(T) cursor) domain.Page[T] {
	if items == nil {
		items = []T{}
	}
	if len(items) <= limit {
		return domain.Page[T]{Items: items}
	}
	items = items[:limit]
	return domain.Page[T]{Items: items, NextCursor: next(items[limit-1]).encode()}
}

// namePage reads rows of a list ordered by (name key, id) into a page: scan
// reads one row and its name key, id names the item for the next cursor.
// It closes rows.
func namePage[T any](rows *sql.Rows, list string, limit int, scan func(*sql.Rows, *string) (T, error), id func(T) string) (domain.Page[T], error) {
	var items []T
	keys := map[string]string{}
	for rows.Next() {
		var key string
		item, err := scan(rows, &key)
		if err != nil {
			_ = rows.Close()
			return domain.Page[T]{}, err
		}
		keys[id(item)] = key
		items = append(items, item)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return domain.Page[T]{}, err
	}
	return pageOf(items, limit, func(item T) cursor {
		return cursor{List: list, Key: keys[id(item)], ID: id(item)}
	}), nil
}
