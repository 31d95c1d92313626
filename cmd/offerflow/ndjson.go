package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// lineError is a line of an NDJSON input that cannot be taken.
type lineError struct {
	Line int
	Err  error
}

func (e *lineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *lineError) Unwrap() error { return e.Err }

// decodeLines decodes r, one JSON object of type T a line (blank lines
// skipped), refusing unknown fields, anything after the object and lines
// longer than maxLine, and calls fn with each value and its line number. A
// bad line, or an error fn returns, is a *lineError.
func decodeLines[T any](r io.Reader, maxLine int, fn func(line int, v T) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	n := 0
	for sc.Scan() {
		n++
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		var v T
		if err := dec.Decode(&v); err != nil {
			return &lineError{n, err}
		}
		if dec.More() {
			return &lineError{n, errors.New("more than one JSON value")}
		}
		if err := fn(n, v); err != nil {
			return &lineError{n, err}
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return &lineError{n + 1, fmt.Errorf("longer than %d bytes", maxLine)}
		}
		return err
	}
	return nil
}
