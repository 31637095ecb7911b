package prompt_test

import (
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
