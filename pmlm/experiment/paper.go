package experiment

// The paper's published numbers (Zheng et al., PMLM, section 5 and table
// A1), copied so that reports can print them beside measured ones. They
// come from a private hospital cohort of 2,373 patients with proprietary
// LLMs; they are not reproducible here and are never compared to as truth.

func paperStats(xs ...float64) []Stat {
	out := make([]Stat, len(xs))
	for i, x := range xs {
		out[i] = Stat{Mean: x}
	}
	return out
}

const paperSource = "Numbers copied from the PMLM paper: private obstetric cohort (2,373 patients), five runs, no spread reported."

// PaperTable1 is the paper's table 1 (proprietary LLMs before and after
// PMLM's prompts).
func PaperTable1() *Table {
	t := &Table{Name: "paper_table1", Title: "Paper, table 1 (private data, proprietary LLMs)",
		LabelColumns: []string{"responder", "prompt"}, ValueColumns: metricColumns, Notes: []string{paperSource}}
	rows := []struct {
		name          string
		before, after []float64
	}{
		{"Gemini1.5-pro", []float64{6.49, 15.46, 27.57, 6.19, 62.79, 65.15, 63.94}, []float64{10.65, 22.39, 37.01, 13.67, 69.54, 70.75, 70.13}},
		{"GLM4", []float64{8.39, 19.46, 30.93, 9.95, 63.06, 64.95, 63.99}, []float64{9.42, 21.31, 34.67, 11.57, 66.80, 69.51, 68.12}},
		{"GLM4-plus", []float64{7.79, 15.45, 33.15, 10.48, 59.43, 63.26, 61.26}, []float64{9.04, 18.47, 36.22, 11.96, 65.20, 69.58, 67.31}},
		{"GPT3.5-turbo", []float64{8.73, 20.08, 29.48, 9.69, 65.56, 64.90, 65.19}, []float64{9.39, 22.84, 32.41, 10.49, 69.25, 68.59, 68.89}},
		{"GPT4", []float64{7.76, 15.49, 28.62, 9.38, 61.03, 64.59, 62.75}, []float64{10.88, 22.69, 39.03, 14.30, 69.80, 71.21, 70.50}},
	}
	for _, r := range rows {
		t.Rows = append(t.Rows,
			Row{Labels: []string{r.name, "general (before)"}, Values: paperStats(r.before...)},
			Row{Labels: []string{r.name, "refined (after)"}, Values: paperStats(r.after...)})
	}
	return t
}

// PaperTable2 is the paper's table 2 (lightweight LLMs fine-tuned on the
// training data beside PMLM over GPT-4).
func PaperTable2() *Table {
	return &Table{Name: "paper_table2", Title: "Paper, table 2 (private data, fine-tuned lightweight LLMs and PMLM over GPT-4)",
		LabelColumns: []string{"model"}, ValueColumns: metricColumns,
		Rows: []Row{
			{Labels: []string{"Llama3-8B"}, Values: paperStats(9.56, 23.52, 38.44, 14.12, 65.61, 65.93, 65.77)},
			{Labels: []string{"GLM4-9B"}, Values: paperStats(8.79, 19.72, 36.40, 12.02, 64.37, 64.29, 64.33)},
			{Labels: []string{"Qwen2-7B"}, Values: paperStats(8.03, 19.78, 36.64, 12.18, 64.38, 64.22, 64.30)},
			{Labels: []string{"LLaVA1.5-7B"}, Values: paperStats(7.45, 16.61, 33.26, 13.59, 61.30, 63.29, 62.28)},
			{Labels: []string{"PMLM"}, Values: paperStats(10.88, 22.69, 39.03, 14.30, 69.80, 71.21, 70.50)},
		},
		Notes: []string{paperSource}}
}

// PaperTable3 is the paper's table 3 (ablation, GPT-4). The paper's text
// version lost the ✓/✗ marks; its prose names variant 2 as the one without
// PP, and variants 1 and 3 are taken to be without SP and without PR in the
// order of the columns.
func PaperTable3() *Table {
	return &Table{Name: "paper_table3", Title: "Paper, table 3 (private data, GPT-4)",
		LabelColumns: []string{"variant", "SP", "PP", "PR"}, ValueColumns: metricColumns,
		Rows: []Row{
			{Labels: []string{"1 (w/o SP)", "✗", "✓", "✓"}, Values: paperStats(8.42, 18.39, 34.01, 10.85, 61.10, 65.01, 62.99)},
			{Labels: []string{"2 (w/o PP)", "✓", "✗", "✓"}, Values: paperStats(9.29, 21.38, 34.54, 11.51, 65.92, 68.61, 67.24)},
			{Labels: []string{"3 (w/o PR)", "✓", "✓", "✗"}, Values: paperStats(7.91, 17.68, 33.07, 10.39, 63.62, 66.09, 64.83)},
			{Labels: []string{"PMLM", "✓", "✓", "✓"}, Values: paperStats(10.88, 22.69, 39.03, 14.30, 69.80, 71.21, 70.50)},
		},
		Notes: []string{paperSource, "The ✓/✗ marks are lost in the paper's text; the prose identifies variant 2 as w/o PP, variants 1 and 3 are assumed w/o SP and w/o PR."}}
}

// PaperTableA1 is the paper's table A1 (predictor study).
func PaperTableA1() *Table {
	return &Table{Name: "paper_tableA1", Title: "Paper, table A1 (private data)",
		LabelColumns: []string{"predictor"}, ValueColumns: []string{"micro-F1", "macro-F1"},
		Rows: []Row{
			{Labels: []string{"LSTM"}, Values: paperStats(21.60, 5.51)},
			{Labels: []string{"CNN"}, Values: paperStats(20.89, 6.42)},
			{Labels: []string{"ROCKET"}, Values: paperStats(36.05, 20.58)},
			{Labels: []string{"Transformer"}, Values: paperStats(41.12, 24.58)},
			{Labels: []string{"Llama3-8B (LoRA)"}, Values: paperStats(79.41, 62.94)},
			{Labels: []string{"GLM4-9B (LoRA)"}, Values: paperStats(65.63, 56.12)},
			{Labels: []string{"Qwen2-7B (LoRA)"}, Values: paperStats(80.05, 69.86)},
			{Labels: []string{"LLaVA1.5-7B (LoRA)"}, Values: paperStats(82.58, 74.13)},
		},
		Notes: []string{paperSource}}
}
