package main

import (
	"strconv"
	"strings"
)

// metrics is one scrape in the Prometheus text format: each series (name
// with its label set, as written) to its value.
type metrics map[string]float64

// parseMetrics reads the text format; comments and lines it cannot read
// are skipped (a scrape is only ever compared with another).
func parseMetrics(body string) metrics {
	m := metrics{}
	for _, line := range strings.Split(body, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		// The value follows the last space outside the labels; no sample
		// here carries a timestamp.
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		m[strings.TrimSpace(line[:i])] = v
	}
	return m
}

// sum adds the series called name whose labels contain every one of
// labels (each written as key="value").
func (m metrics) sum(name string, labels ...string) float64 {
	total := 0.0
	for series, v := range m {
		if metricName(series) == name && hasLabels(series, labels) {
			total += v
		}
	}
	return total
}

// has reports whether any series is called name.
func (m metrics) has(name string) bool {
	for series := range m {
		if metricName(series) == name {
			return true
		}
	}
	return false
}

// byLabel sums name's series by the value of one label.
func (m metrics) byLabel(name, label string) map[string]float64 {
	out := map[string]float64{}
	for series, v := range m {
		if metricName(series) == name {
			out[labelValue(series, label)] += v
		}
	}
	return out
}

func metricName(series string) string {
	if i := strings.IndexByte(series, '{'); i >= 0 {
		return series[:i]
	}
	return series
}

func hasLabels(series string, labels []string) bool {
	for _, l := range labels {
		if !strings.Contains(series, "{"+l) && !strings.Contains(series, ","+l) {
			return false
		}
	}
	return true
}

func labelValue(series, label string) string {
	key := label + `="`
	i := strings.Index(series, "{"+key)
	if i < 0 {
		i = strings.Index(series, ","+key)
	}
	if i < 0 {
		return ""
	}
	i++ // past the { or ,
	rest := series[i+len(key):]
	if j := strings.IndexByte(rest, '"'); j >= 0 {
		return rest[:j]
	}
	return rest
}
