package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
	"time"
)

// field is one reported number (or word) with its unit for the table.
type field struct {
	key  string
	val  any
	unit string
}

// result is what one scenario reports, in order.
type result struct {
	scenario string
	fields   []field
}

func (r *result) add(key string, val any, unit string) {
	switch v := val.(type) {
	case time.Duration:
		val = round(v.Seconds()*1000, 3)
		if unit == "" {
			unit = "ms"
		}
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			val = 0.0
		} else {
			val = round(v, 3)
		}
	}
	r.fields = append(r.fields, field{key, val, unit})
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

// write prints r as a table and then as one JSON line starting with
// {"scenario":.
func (r *result) write(w io.Writer) {
	fmt.Fprintf(w, "\n== %s ==\n", r.scenario)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	for _, f := range r.fields {
		v := fmt.Sprint(f.val)
		if x, ok := f.val.(float64); ok {
			v = fmt.Sprintf("%.3f", x)
			v = strings.TrimRight(strings.TrimRight(v, "0"), ".")
		}
		fmt.Fprintf(tw, "%s\t%s\t %s\t\n", f.key, v, f.unit)
	}
	_ = tw.Flush()
	fmt.Fprintln(w, r.jsonLine())
}

func (r *result) jsonLine() string {
	var b strings.Builder
	sc, _ := json.Marshal(r.scenario)
	b.WriteString(`{"scenario":`)
	b.Write(sc)
	for _, f := range r.fields {
		k, _ := json.Marshal(f.key)
		v, err := json.Marshal(f.val)
		if err != nil {
			v = []byte("null")
		}
		b.WriteByte(',')
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.String()
}
