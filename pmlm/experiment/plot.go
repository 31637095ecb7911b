package experiment

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// PNG sizes: large enough to read, small enough for a repository.
const (
	heatmapWidth, heatmapHeight = 9 * vg.Inch, 3.6 * vg.Inch
	sweepWidth, sweepHeight     = 5 * vg.Inch, 3.6 * vg.Inch
	dpi                         = 96
)

// grid adapts Heatmap.Counts to plotter.GridXYZ: column j is position j,
// row i is step i.
type grid [][]float64

func (g grid) Dims() (c, r int)   { return len(g[0]), len(g) }
func (g grid) Z(c, r int) float64 { return g[r][c] }
func (g grid) X(c int) float64    { return float64(c) }
func (g grid) Y(r int) float64    { return float64(r) }

// integerTicks labels every step-th integer of an axis.
type integerTicks struct{ step int }

func (t integerTicks) Ticks(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	for v := int(math.Ceil(lo)); float64(v) <= hi; v++ {
		tk := plot.Tick{Value: float64(v)}
		if v%t.step == 0 {
			tk.Label = strconv.Itoa(v)
		}
		ticks = append(ticks, tk)
	}
	return ticks
}

// WritePNG draws figure 6: the heatmap with a colour bar on its right.
func (h *Heatmap) WritePNG(w io.Writer) error {
	if len(h.Counts) == 0 || len(h.Counts[0]) == 0 {
		return fmt.Errorf("experiment: empty heatmap")
	}
	hi := 0.0
	for _, row := range h.Counts {
		for _, c := range row {
			hi = max(hi, c)
		}
	}
	cmap := moreland.ExtendedBlackBody()
	cmap.SetMin(0)
	cmap.SetMax(max(hi, 1))
	pal := cmap.Palette(255)

	p := plot.New()
	p.Title.Text = fmt.Sprintf("Figure 6: deletions per word position and step (%d test patients, mean of %d seed(s))", h.Patients, h.Seeds)
	p.X.Label.Text = "word position in the coarse prompt (0 = first word)"
	p.Y.Label.Text = "deletion step i"
	hm := plotter.NewHeatMap(grid(h.Counts), pal)
	hm.Min, hm.Max = 0, max(hi, 1)
	// Vector cells: the rasterized path interpolates between cells, which
	// would smear single positions.
	p.Add(hm)
	p.X.Tick.Marker = integerTicks{step: 10}
	p.Y.Tick.Marker = integerTicks{step: max(1, len(h.Counts)/10)}
	p.X.Padding, p.Y.Padding = 0, 0

	bar := plot.New()
	bar.Add(&plotter.ColorBar{ColorMap: cmap, Vertical: true})
	bar.HideX()
	bar.Y.Padding = 0
	bar.Y.Label.Text = "deletions (patients)"
	bar.Title.Text = " "

	img := vgimg.NewWith(vgimg.UseWH(heatmapWidth, heatmapHeight), vgimg.UseDPI(dpi), vgimg.UseBackgroundColor(color.White))
	dc := draw.New(img)
	barWidth := 0.9 * vg.Inch
	main := dc
	main.Max.X -= barWidth
	side := dc
	side.Min.X = main.Max.X + 0.1*vg.Inch
	p.Draw(main)
	bar.Draw(side)
	_, err := vgimg.PngCanvas{Canvas: img}.WriteTo(w)
	return err
}

// WritePNG draws a panel of figure 7: BERTScore P, R and F1 against the
// swept parameter, each point the mean over seeds with ± std error bars.
func (s *Sweep) WritePNG(w io.Writer) error {
	if len(s.Values) == 0 {
		return fmt.Errorf("experiment: empty sweep")
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Figure 7: BERTScore vs %s (mean ± std, %d seed(s))", s.Param, s.Seeds)
	p.X.Label.Text = s.Label
	p.Y.Label.Text = "BERTScore (0–100)"
	p.Legend.Top = true
	p.Legend.TextStyle.Font.Size = font.Length(10)
	p.Add(plotter.NewGrid())
	series := []struct {
		name  string
		stats []Stat
		color color.Color
		shape draw.GlyphDrawer
	}{
		{"precision", s.P, color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}, draw.CircleGlyph{}},
		{"recall", s.R, color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}, draw.TriangleGlyph{}},
		{"F1", s.F, color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}, draw.BoxGlyph{}},
	}
	for _, sr := range series {
		pts := make(plotter.XYs, len(s.Values))
		errs := make(plotter.YErrors, len(s.Values))
		for i, v := range s.Values {
			pts[i] = plotter.XY{X: float64(v), Y: sr.stats[i].Mean}
			errs[i] = struct{ Low, High float64 }{sr.stats[i].Std, sr.stats[i].Std}
		}
		line, points, err := plotter.NewLinePoints(pts)
		if err != nil {
			return err
		}
		line.Color = sr.color
		line.Width = vg.Points(1.5)
		points.Color, points.Shape = sr.color, sr.shape
		eb, err := plotter.NewYErrorBars(struct {
			plotter.XYer
			plotter.YErrorer
		}{pts, errs})
		if err != nil {
			return err
		}
		eb.Color = sr.color
		p.Add(line, points, eb)
		p.Legend.Add(sr.name, line, points)
	}
	ticks := make([]plot.Tick, len(s.Values))
	for i, v := range s.Values {
		ticks[i] = plot.Tick{Value: float64(v), Label: strconv.Itoa(v)}
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	// Room for the end ticks' labels and, above the data, for the legend.
	lo, hi := float64(s.Values[0]), float64(s.Values[len(s.Values)-1])
	pad := max(0.5, 0.05*(hi-lo))
	p.X.Min, p.X.Max = lo-pad, hi+pad
	p.Y.Max += 0.35 * (p.Y.Max - p.Y.Min)
	wt, err := p.WriterTo(sweepWidth, sweepHeight, "png")
	if err != nil {
		return err
	}
	_, err = wt.WriteTo(w)
	return err
}
