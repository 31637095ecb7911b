package experiment_test

import (
	"os"

	"github.com/pmlm-go/pmlm/pmlm/experiment"
)

// A table holds each number as the mean and spread over seeds; it prints as
// Markdown (mean ± std) and CSV (mean and std columns).
func ExampleTable() {
	t := &experiment.Table{
		Name: "demo", LabelColumns: []string{"prompt"}, ValueColumns: []string{"BERTScore-F1"},
		Rows: []experiment.Row{
			{Labels: []string{"before"}, Values: []experiment.Stat{experiment.NewStat([]float64{88.1, 88.5, 88.3})}},
			{Labels: []string{"after"}, Values: []experiment.Stat{experiment.NewStat([]float64{88.6, 88.9, 88.7})}},
		},
	}
	if err := t.WriteMarkdown(os.Stdout); err != nil {
		panic(err)
	}
	if err := t.WriteCSV(os.Stdout); err != nil {
		panic(err)
	}
	// Output:
	// | prompt | BERTScore-F1 |
	// | --- | ---: |
	// | before | 88.30 ± 0.20 |
	// | after | 88.73 ± 0.15 |
	// prompt,BERTScore-F1_mean,BERTScore-F1_std,n
	// before,88.3000,0.2000,3
	// after,88.7333,0.1528,3
}
