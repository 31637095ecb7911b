// This file continues the package documentation of cohort.go: go/doc joins
// the package comments of all files, in file-name order.

// # Cohort data files
//
// A cohort lives in a directory of CSV files (RFC 4180 as read by
// encoding/csv: comma-separated, fields with commas, quotes or line breaks
// quoted, UTF-8, an optional byte-order mark is ignored). The first row of
// every file is a header; columns are found by name, in any order, and names
// are case-sensitive ("pH" is not "PH"). ReadDir reads such a directory and
// WriteDir writes one.
//
// visits.csv (required) holds one row per visit (a lab examination event):
//
//	patient_id,date,pH,ALB,...,RBC
//	p0001,2021-03-14,6.5,38.2,...,3.91
//	p0001,2021-04-02,,36.9,...,
//
// Its columns:
//
//   - patient_id: the patient's ID as in patients.csv.
//   - date: the visit date, YYYY-MM-DD (DateLayout).
//   - one column per metric of the catalogue, named by Metric.Name, holding
//     the value in the metric's unit. An empty cell is a missing
//     measurement (Visit.Values holds NaN for it); "NA", "-", "NaN" and "Inf"
//     are not accepted. Values are decimal numbers ("12", "0.5", "1e-3");
//     spaces around them are ignored.
//
// Several visits of a patient may share a date (separate same-day lab
// orders); rows may come in any order. The reader sorts each patient's
// visits by date, keeping the file order of same-day visits.
//
// patients.csv (required) holds one row per patient:
//
//	patient_id,index_date,label,response
//	p0001,2021-10-20,thalassemia,"Thalassemia trait: your haemoglobin ..."
//
// Its columns:
//
//   - patient_id: a non-empty ID, unique in the file, compared exactly
//     (no trimming, case-sensitive).
//   - index_date: the delivery or discharge date, YYYY-MM-DD; the time-based
//     split uses it.
//   - label: the discharge diagnosis, one of the label set.
//   - response: the doctor's free-text advice, non-empty; quote it when it
//     holds commas, quotes or line breaks.
//
// metrics.csv (optional) is the metric catalogue, one row per metric in the
// order of Visit.Values:
//
//	name,description,unit,min,max
//	HGB,haemoglobin,g/L,30,200
//
// min and max are the inclusive physical range; a value outside it is a data
// error. labels.csv (optional) is the label set, a single column "label",
// one row per label. When a file is absent the reader uses the obstetric
// catalogue (ObstetricMetrics, ObstetricLabels); ReadOptions.Metrics and
// ReadOptions.Labels override both. WriteDir always writes all four files, so
// a directory it wrote is self-describing.
//
// WriteDir writes each value with the shortest decimal form that parses back
// to the same float64 (strconv 'g', -1), so writing and reading a cohort
// gives back the same values exactly. Dates are whole days: a time of day is
// dropped, and read dates are UTC midnight. Text comes back as written,
// except that a "\r\n" line break inside a response reads back as "\n"
// (encoding/csv normalizes it). Each file is written to a
// temporary file in the directory and renamed over the target, so a reader
// never sees a half-written file; the files are created with mode 0600
// because they hold medical data.
//
// # Validation
//
// ReadDir checks every row and reports every problem with its place: the
// file, the 1-based line, the 1-based column (field number) and the column's
// name, for example
//
//	visits.csv:12:35 (HGB): value 250 outside the physical range [30, 200] g/L
//
// A missing column has no field number; its error names the header line and
// the column. A message never repeats a patient ID: the line identifies the
// row, and Issue.Patient carries the ID for programs.
//
// In strict mode (the default) any error makes the read fail with a
// *ValidationError that lists all errors found (the first 100, and the total
// count). In lenient mode (ReadOptions.Lenient) a row with an error is skipped
// and so, in turn, are the rows that depend on it; every skipped row is
// listed in Report.Skipped with the reason. Warnings never stop a read; they
// are listed in Report.Warnings. The decisions:
//
//	problem                                  strict   lenient
//	---------------------------------------  -------  -----------------------------------------
//	file missing, empty or without header    fail     fail
//	catalogue error in metrics.csv or        fail     fail
//	  labels.csv (empty or duplicate name,
//	  min > max, non-finite bound)
//	missing patient_id/date/index_date/      fail     fail
//	  label/response column, duplicate
//	  column name
//	file, physical line or field longer      fail     fail (the rest of the file is not read)
//	  than ReadOptions.MaxFileBytes,
//	  MaxLineBytes, MaxFieldBytes (defaults
//	  4 GiB, 1 MiB, 256 KiB)
//	missing metric column                    error    warn; every value of that metric missing
//	unknown column                           error    warn; column ignored
//	malformed CSV (bad quotes) or a row      error    skip the row
//	  with the wrong number of fields
//	empty patient_id                         error    skip the row
//	unparsable date or index_date            error    skip the row
//	non-numeric cell                         error    skip the visit row
//	NaN or Inf                               error    skip the visit row
//	value outside the physical range         error    skip the visit row
//	unknown label                            error    skip the patient and its visits
//	empty response                           error    skip the patient and its visits
//	duplicate patient ID                     error    skip every row with that ID, and its visits
//	visit of a patient not in patients.csv   error    skip the visit row
//	patient without visits (or whose visits  error    skip the patient
//	  were all skipped)
//	more visits than the maximum (default    error    keep the latest visits, skip the earliest
//	  DefaultMaxVisits = 45)
//	visits out of date order                 warn     warn (sorted by date in both modes)
//	visit dated after the index date         warn     warn (kept)
//	visit with every metric missing          warn     warn (kept)
//
// Rows are never dropped without an entry in the report, and malformed
// input gives an error, never a panic (the reader is fuzzed).
package cohort
