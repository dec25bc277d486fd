// chart-check: what the chart and monitoring tests need parsed by the real thing rather than
// by a hand-written imitation.
//
//	chart-check yaml-to-json
//	  stdin: a YAML stream (helm template, kubectl kustomize); stdout: a JSON array of its
//	  documents, empty ones dropped. Every field kept, unlike a typed client's deserializer.
//
//	chart-check monitoring
//	  Prometheus' own code: the rule-file validation of `promtool check rules` (model/rulefmt:
//	  YAML shape, PromQL, durations, annotation templates) and, for every expression, the
//	  metric selectors and label names it uses (promql/parser).
//	  stdin:  {"rules": "<rule-file YAML>", "expressions": [{"id": "…", "expr": "…"}]}
//	  stdout: {"ruleErrors": [...], "expressions": [{"id", "expr", "error", "selectors", "groupings"}]}
//	  The rule file's expressions are reported too, with the id "rule <group>/<alert or record>".
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v3"
)

type input struct {
	Rules       string       `json:"rules"`
	Expressions []expression `json:"expressions"`
}

type expression struct {
	ID   string `json:"id"`
	Expr string `json:"expr"`
}

type matcher struct {
	Label string `json:"label"`
	Op    string `json:"op"`
	Value string `json:"value"`
}

type selector struct {
	Metric   string    `json:"metric"`
	Matchers []matcher `json:"matchers"`
}

// A set of label names an expression groups or matches by (by, without, on, ignoring,
// group_left/right), and the metrics whose series those labels must come from.
type grouping struct {
	Clause  string   `json:"clause"`
	Labels  []string `json:"labels"`
	Metrics []string `json:"metrics"`
}

type result struct {
	ID        string     `json:"id"`
	Expr      string     `json:"expr"`
	Error     string     `json:"error,omitempty"`
	Selectors []selector `json:"selectors"`
	Groupings []grouping `json:"groupings"`
}

type output struct {
	RuleErrors  []string `json:"ruleErrors"`
	Expressions []result `json:"expressions"`
}

func metricsUnder(n parser.Node) []string {
	seen := map[string]bool{}
	parser.Inspect(n, func(node parser.Node, _ []parser.Node) error {
		if vs, ok := node.(*parser.VectorSelector); ok {
			seen[nameOf(vs)] = true
		}
		return nil
	})
	out := make([]string, 0, len(seen))
	for m := range seen {
		out = append(out, m)
	}
	sort.Strings(out)
	return out
}

func nameOf(vs *parser.VectorSelector) string {
	if vs.Name != "" {
		return vs.Name
	}
	for _, m := range vs.LabelMatchers {
		if m.Name == labels.MetricName && m.Type == labels.MatchEqual {
			return m.Value
		}
	}
	return ""
}

func analyse(p parser.Parser, e expression) result {
	r := result{ID: e.ID, Expr: e.Expr, Selectors: []selector{}, Groupings: []grouping{}}
	expr, err := p.ParseExpr(e.Expr)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
		switch n := node.(type) {
		case *parser.VectorSelector:
			s := selector{Metric: nameOf(n), Matchers: []matcher{}}
			for _, m := range n.LabelMatchers {
				if m.Name == labels.MetricName {
					continue
				}
				s.Matchers = append(s.Matchers, matcher{Label: m.Name, Op: m.Type.String(), Value: m.Value})
			}
			r.Selectors = append(r.Selectors, s)
		case *parser.AggregateExpr:
			clause := "by"
			if n.Without {
				clause = "without"
			}
			if len(n.Grouping) > 0 {
				r.Groupings = append(r.Groupings, grouping{Clause: clause, Labels: n.Grouping, Metrics: metricsUnder(n.Expr)})
			}
		case *parser.BinaryExpr:
			if vm := n.VectorMatching; vm != nil {
				clause := "ignoring"
				if vm.On {
					clause = "on"
				}
				if len(vm.MatchingLabels) > 0 {
					r.Groupings = append(r.Groupings, grouping{Clause: clause, Labels: vm.MatchingLabels, Metrics: metricsUnder(n)})
				}
				if len(vm.Include) > 0 {
					r.Groupings = append(r.Groupings, grouping{Clause: "include", Labels: vm.Include, Metrics: metricsUnder(n)})
				}
			}
		}
		return nil
	})
	return r
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "chart-check: "+format+"\n", args...)
	os.Exit(2)
}

func main() {
	if len(os.Args) != 2 {
		fail("usage: chart-check yaml-to-json|monitoring < input")
	}
	raw, err := io.ReadAll(os.Stdin)
	if err != nil {
		fail("%v", err)
	}
	switch os.Args[1] {
	case "yaml-to-json":
		yamlToJSON(raw)
	case "monitoring":
		monitoring(raw)
	default:
		fail("unknown command %q", os.Args[1])
	}
}

func yamlToJSON(raw []byte) {
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	docs := []any{}
	for {
		var doc any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fail("yaml: %v", err)
		}
		if doc != nil {
			docs = append(docs, doc)
		}
	}
	if err := json.NewEncoder(os.Stdout).Encode(docs); err != nil {
		fail("json: %v", err)
	}
}

func monitoring(raw []byte) {
	var in input
	if err := json.Unmarshal(raw, &in); err != nil {
		fail("input: %v", err)
	}
	p := parser.NewParser(parser.Options{})
	out := output{RuleErrors: []string{}, Expressions: []result{}}
	exprs := in.Expressions
	if in.Rules != "" {
		logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
		groups, errs := rulefmt.Parse([]byte(in.Rules), false, model.UTF8Validation, p, logger)
		for _, e := range errs {
			out.RuleErrors = append(out.RuleErrors, e.Error())
		}
		if groups != nil {
			for _, g := range groups.Groups {
				for _, rule := range g.Rules {
					name := rule.Alert
					if name == "" {
						name = rule.Record
					}
					exprs = append(exprs, expression{ID: "rule " + g.Name + "/" + name, Expr: rule.Expr})
				}
			}
		}
	}
	for _, e := range exprs {
		out.Expressions = append(out.Expressions, analyse(p, e))
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		fail("%v", err)
	}
}
