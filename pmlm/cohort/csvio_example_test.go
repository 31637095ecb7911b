package cohort_test

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/pmlm-go/pmlm/pmlm/cohort"
)

// ExampleReadCohort reads a two-patient cohort and shows how a validation
// error names the file, line and column of each problem.
func ExampleReadCohort() {
	patients := `patient_id,index_date,label,response
a,2021-05-01,normal,"Normal delivery, routine checks."
b,2022-03-01,thalassemia,"Low MCV with falling haemoglobin; check ferritin."
`
	visits := `patient_id,date,HGB,MCV
a,2021-02-01,121,88.5
b,2021-11-20,104,64.9
b,2022-01-15,98,
`
	opts := cohort.ReadOptions{Metrics: []cohort.Metric{
		{Name: "HGB", Unit: "g/L", Min: 30, Max: 200},
		{Name: "MCV", Unit: "fL", Min: 50, Max: 130},
	}}
	c, _, err := cohort.ReadCohort(strings.NewReader(patients), strings.NewReader(visits), opts)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c.NumVisits(), "visits; b's last MCV missing:", cohort.IsMissing(c.Patient("b").Visits[1].Values[1]))

	bad := strings.Replace(visits, "104", "1040", 1)
	_, _, err = cohort.ReadCohort(strings.NewReader(patients), strings.NewReader(bad), opts)
	var ve *cohort.ValidationError
	if errors.As(err, &ve) {
		fmt.Println(err)
	}
	// Output:
	// 3 visits; b's last MCV missing: true
	// invalid cohort data: 1 error
	// 	visits.csv:3:3 (HGB): value 1040 outside the physical range [30, 200] g/L
}

// ExampleCohort_Summarize writes a cohort to a directory, reads it back and
// prints its summary.
func ExampleCohort_Summarize() {
	dir, err := os.MkdirTemp("", "cohort")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	c := &cohort.Cohort{
		Metrics: []cohort.Metric{{Name: "HGB", Unit: "g/L", Min: 30, Max: 200}},
		Labels:  []string{cohort.LabelNormal, cohort.LabelThalassemia},
	}
	for i, d := range []string{"2021-05-01", "2022-03-01", "2022-10-01"} {
		idx, _ := time.Parse(cohort.DateLayout, d)
		p := cohort.Patient{ID: fmt.Sprint("p", i), IndexDate: idx, Label: cohort.LabelNormal, Response: "Fine."}
		for v := range i + 1 {
			p.Visits = append(p.Visits, cohort.Visit{Date: idx.AddDate(0, -v-1, 0), Values: []float64{110 + float64(v)}})
		}
		c.Patients = append(c.Patients, p)
	}
	c.Patients[2].Visits[0].Values[0] = cohort.Missing()
	if err := cohort.WriteDir(dir, c); err != nil {
		fmt.Println(err)
		return
	}
	back, _, err := cohort.ReadDir(dir, cohort.ReadOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = back.Summarize(cohort.DefaultSplit()).WriteText(os.Stdout)
	// Output:
	// patients                3
	// visits                  6
	// max visits per patient  3
	// metrics                 1
	// labels                  2
	//
	// split (by index date)       patients
	// train (to 2021-12-31)       1
	// validation (to 2022-06-30)  1
	// test (after)                1
	//
	// label        patients
	// normal       3
	// thalassemia  0
	//
	// metric  missing
	// HGB     16.7%  (1 of 6 visits)
}
