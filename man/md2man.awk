# md2man.awk: the Markdown of our docs as a man page, so that each man page
# is made from the text it documents and the two never disagree.
#
#   awk -v name=aifctl -v section=1 -v date=2026-12-04 -v version=0.1.0 \
#       -v src=README.md \
#       -v title="the slurm-aifactory command-line tool" \
#       -v from="## aifctl" -v to="## Layout" -f md2man.awk README.md
#
# from/to: the heading lines where the page starts (that heading becomes
# DESCRIPTION, or is dropped when it is the file's title) and stops
# (excluded); empty: the whole file. Handles what our docs use: headings,
# paragraphs, bullet lists, fenced code, tables (each row a tagged
# paragraph: the first cell bold, then the others, headed by their column
# names), `code`, **bold** and [links](...).

function esc(s) {
	gsub(/\\/, "\\e", s)
	gsub(/-/, "\\-", s)
	return s
}

# Inline markup of one line of text.
function inline(s,    out, i, c, code, bold) {
	s = esc(s)
	# [text](target) -> text
	while (match(s, /\[[^\]]*\]\([^)]*\)/)) {
		t = substr(s, RSTART + 1, RLENGTH - 1)
		sub(/\]\(.*$/, "", t)
		s = substr(s, 1, RSTART - 1) t substr(s, RSTART + RLENGTH)
	}
	out = ""
	code = bold = 0
	for (i = 1; i <= length(s); i++) {
		c = substr(s, i, 1)
		if (c == "`") {
			out = out (code ? "\\fR" : "\\fB")
			code = !code
		} else if (!code && substr(s, i, 2) == "**") {
			out = out (bold ? "\\fR" : "\\fB")
			bold = !bold
			i++
		} else if (code && (c == "," || c == "|" || c == "/"))
			out = out c "\\:"	# a place a long value may break
		else
			out = out c
	}
	if (code || bold)
		out = out "\\fR"
	return out
}

# A line of running text: roff must not read it as a request.
function text(s) {
	s = inline(s)
	if (s ~ /^[.']/)
		s = "\\&" s
	return s
}

function cells(line, arr,    n, i) {
	gsub(/\\\|/, "\001", line)
	sub(/^[ \t]*\|/, "", line)
	sub(/\|[ \t]*$/, "", line)
	n = split(line, arr, /\|/)
	for (i = 1; i <= n; i++) {
		gsub(/\001/, "|", arr[i])
		gsub(/^[ \t]+|[ \t]+$/, "", arr[i])
	}
	return n
}

BEGIN {
	started = (from == "")
	printf ".\\\" Made by man/md2man.awk from %s: edit that, not this.\n", src
	printf ".TH %s %s \"%s\" \"slurm-aifactory %s\" \"slurm-aifactory\"\n",
		toupper(name), section, date, version
	printf ".ad l\n.nh\n"	# ragged right, no hyphens: values stay whole
	printf ".SH NAME\n%s \\- %s\n", name, title
	printf ".SH DESCRIPTION\n"
	incode = 0
	table = 0
}

!started {
	if ($0 == from)
		started = 1
	next
}

to != "" && $0 == to { exit }

incode {
	if ($0 ~ /^```/) {
		print ".fi\n.RE"
		incode = 0
		next
	}
	line = esc($0)
	if (line ~ /^[.']/)
		line = "\\&" line
	print line
	next
}

/^```/ {
	print ".RS 4\n.nf"
	incode = 1
	next
}

/^\|/ {
	n = cells($0, c)
	if (!table) {
		table = 1
		ncols = n
		for (i = 1; i <= n; i++)
			head[i] = c[i]
		next
	}
	if ($0 ~ /^\|[ \t:|-]+\|?[ \t]*$/)
		next
	print ".TP"
	print text(c[1])
	for (i = 2; i <= n; i++) {
		if (c[i] == "")
			continue
		if (ncols > 2 && head[i] != "meaning" && head[i] != "what it does")
			print text(head[i] ": " c[i])
		else
			print text(c[i])
		if (i < n)
			print ".br"
	}
	next
}

{ table = 0 }

/^#+ / {
	level = index($0, " ") - 1
	h = substr($0, level + 2)
	if (level == 1)
		next	# the file's title: NAME says it
	if (level == 2)
		printf ".SH \"%s\"\n", inline(toupper(h))
	else
		printf ".SS \"%s\"\n", inline(h)
	next
}

/^[ \t]*$/ { print ".PP"; next }

/^- / { print ".IP \\(bu 2"; print text(substr($0, 3)); next }

/^[ \t]+/ { sub(/^[ \t]+/, ""); print text($0); next }

{ print text($0) }
