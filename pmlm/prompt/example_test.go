package prompt_test

import (
	"math"

	"fmt"

	"github.com/pmlm-go/pmlm/pmlm/prompt"
	"github.com/pmlm-go/pmlm/similarity"
)

func Example() {
	// The recommender's answer for one patient: the true labels of her
	// most similar past patients.
	neighbors := []similarity.Neighbor{
		{Index: 12, Similarity: 0.93, Label: "gestational diabetes"},
		{Index: 40, Similarity: 0.91, Label: "normal"},
		{Index: 7, Similarity: 0.88, Label: "gestational diabetes"},
	}
	p, err := prompt.Default().Render(prompt.FromNeighbors("gestational diabetes", neighbors))
	if err != nil {
		panic(err)
	}
	fmt.Println(p)
	fmt.Println(len(prompt.Words(p)), "words")
	// Output:
	// Background: the data are the laboratory examinations of a pregnant patient over the course of her pregnancy. Task: write the discharge advice her doctor would give her after delivery. Patient: her predicted discharge diagnosis is gestational diabetes. Similar patients: among the 3 most similar past patients, the discharge diagnosis was gestational diabetes for 2 and normal for 1. Please give clear, specific and personalized discharge advice for this patient.
	// 69 words
}

func ExampleLabHistory() {
	nan := math.NaN() // a missing value
	history, err := prompt.LabHistory([]prompt.Series{
		{Name: "HGB", Unit: "g/L", Days: []float64{0, 60, 120, 200}, Values: []float64{128, 117, nan, 104}},
		{Name: "MCV", Unit: "fL", Days: []float64{0, 60, 120, 200}, Values: []float64{66.2, 65.8, 66.5, nan}},
	}, prompt.HistoryOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(prompt.General(history))
	// Output:
	// Instruction: you are an obstetrician. Write the discharge advice the doctor would give this pregnant patient after her delivery.
	// Input: Laboratory history: 4 examination days over 200 days; per indicator the first → last value, the lowest and highest, the trend and the number of values.
	// HGB 128 → 104 g/L (min 104, max 128; falling; 3 values)
	// MCV 66.2 → 66.5 fL (min 65.8, max 66.5; stable; 3 values)
}
