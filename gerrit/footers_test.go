package gerrit

import (
	"net/url"
	"reflect"
	"testing"
)

func TestParseDependsOn(t *testing.T) {
	u := func(s string) *url.URL {
		v, err := url.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name    string
		message string
		want    []DependsOn
	}{
		{"none", "Fix it\n\nChange-Id: I0123456789abcdef0123456789abcdef01234567\n", nil},
		{
			"URL forms and the legacy Change-Id, in order",
			"Fix it\n\nDepends-On: https://review.example.com/c/org/lib/+/12\n" +
				"depends-on: https://review.example.com/#/c/13 \n" +
				"Depends-On: I0123456789abcdef0123456789abcdef01234567\n" +
				"Depends-On:https://review.example.com/14\n",
			[]DependsOn{
				{URL: u("https://review.example.com/c/org/lib/+/12")},
				{URL: u("https://review.example.com/#/c/13")},
				{ChangeID: "I0123456789abcdef0123456789abcdef01234567"},
				{URL: u("https://review.example.com/14")},
			},
		},
		{
			"not footers: mid-line, other schemes, junk, an upper-case Change-Id",
			"See Depends-On: https://x/1\nDepends-On: ftp://x/2\nDepends-On: soon\nDepends-On: I0123456789ABCDEF0123456789abcdef01234567\n",
			nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ParseDependsOn(tt.message); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseDependsOn:\ngot  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestChangeNumberFromURL(t *testing.T) {
	tests := []struct {
		base, url string
		want      int
		ok        bool
	}{
		{"https://review.example.com/", "https://review.example.com/1234", 1234, true},
		{"https://review.example.com/", "https://review.example.com/#/c/1234", 1234, true},
		{"https://review.example.com/", "https://review.example.com/#/c/1234/2", 1234, true},
		{"https://review.example.com/", "https://review.example.com/c/org/proj/+/1234", 1234, true},
		{"https://review.example.com/", "https://review.example.com/c/org/proj/+/1234/3", 1234, true},
		{"https://review.example.com/", "http://REVIEW.example.com/1234/", 1234, true},
		{"https://review.example.com/r/", "https://review.example.com/r/c/p/+/5", 5, true},
		{"https://review.example.com/r", "https://review.example.com/r/5", 5, true},
		{"https://review.example.com/r/", "https://review.example.com/5", 0, false},
		{"https://review.example.com/", "https://github.com/org/proj/pull/5", 0, false},
		{"https://review.example.com/", "https://review.example.com/c/org/proj/", 0, false},
		{"https://review.example.com/", "https://review.example.com/dashboard/self", 0, false},
		{"https://review.example.com/", "https://review.example.com/0", 0, false},
	}
	for _, tt := range tests {
		base, _ := url.Parse(tt.base)
		u, _ := url.Parse(tt.url)
		got, ok := ChangeNumberFromURL(base, u)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ChangeNumberFromURL(%s, %s) = %d, %v; want %d, %v", tt.base, tt.url, got, ok, tt.want, tt.ok)
		}
	}
}

func TestChangeURLsAreRecognized(t *testing.T) {
	base, _ := url.Parse("https://review.example.com/r/")
	for _, s := range ChangeURLs(base, "org/proj", 42) {
		u, _ := url.Parse(s)
		if n, ok := ChangeNumberFromURL(base, u); !ok || n != 42 {
			t.Errorf("ChangeNumberFromURL(%s) = %d, %v; want 42", s, n, ok)
		}
	}
}

func FuzzParseDependsOn(f *testing.F) {
	f.Add("Fix\n\nDepends-On: https://review.example.com/c/org/p/+/12\nChange-Id: I0123456789abcdef0123456789abcdef01234567\n")
	f.Add("Depends-On: https://review.example.com/#/c/13\nDepends-On: I0123456789abcdef0123456789abcdef01234567")
	f.Add("Depends-On: http://[::1]:8080/1\n")
	base, _ := url.Parse("https://review.example.com/")
	f.Fuzz(func(t *testing.T, message string) {
		for _, d := range ParseDependsOn(message) {
			if (d.URL == nil) == (d.ChangeID == "") {
				t.Fatalf("footer %+v is neither a URL nor a Change-Id", d)
			}
			if n, ok := ChangeNumberFromURL(base, d.URL); ok && n <= 0 {
				t.Fatalf("URL %s names change %d", d.URL, n)
			}
		}
	})
}
