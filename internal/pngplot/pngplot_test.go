package pngplot

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"testing"
)

// colourCount counts the pixels of c in img.
func colourCount(img image.Image, c color.RGBA) int {
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if uint8(r>>8) == c.R && uint8(g>>8) == c.G && uint8(bl>>8) == c.B {
				n++
			}
		}
	}
	return n
}

// TestWritePNG: a mark is a 9×9 square and a legend swatch 16×8 in its
// series' colour; a line is drawn between its points; the decades of y
// and the given ticks are grid lines.
func TestWritePNG(t *testing.T) {
	c := Chart{Title: "T", XLabel: "N", YLabel: "Y", XTicks: []Tick{{100, "1E2"}, {1e6, "1E6"}},
		Series: []Series{
			{Name: "A", Marks: []Point{{1000, 5}}},
			{Name: "B", Line: []Point{{1e6, 3000}, {100, 3}}},
		}}
	var buf bytes.Buffer
	if err := c.WritePNG(&buf); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 980 || b.Dy() != 600 {
		t.Fatalf("size %v", b)
	}
	palette := []color.RGBA{{31, 119, 180, 255}, {255, 127, 14, 255}}
	if got := colourCount(img, palette[0]); got != 9*9+16*8 {
		t.Errorf("series A: %d pixels, want one 9×9 mark and the 16×8 swatch", got)
	}
	if got := colourCount(img, palette[1]); got < 600 {
		t.Errorf("series B: %d pixels, want a thick line across the chart", got)
	}
	if got := colourCount(img, color.RGBA{220, 220, 220, 255}); got < 4*600 {
		t.Errorf("grid: %d pixels, want the decades 1E0–1E4 and two ticks", got)
	}
}

func TestWritePNGRefusesNothing(t *testing.T) {
	var buf bytes.Buffer
	if err := (Chart{}).WritePNG(&buf); err == nil {
		t.Error("an empty chart was drawn")
	}
	if err := (Chart{Series: []Series{{Name: "Z", Line: []Point{{1, 0}, {2, -1}}}}}).WritePNG(&buf); err == nil {
		t.Error("a chart without a positive y was drawn")
	}
}
