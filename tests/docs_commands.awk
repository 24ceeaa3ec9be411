# The shell commands of a markdown page: its indented lines (code blocks)
# whose first word is a command nnkit's docs use, continuation lines
# joined, one command a line. Other indented lines (INI, C, Python,
# sample output) are left alone.
/^    [^ ]/ || /^        / {
  line = $0
  sub(/^ +/, "", line)
  if (joining) {
    cmd = cmd " " line
  } else {
    split(line, w, " ")
    if (w[1] !~ /^(build\/tools\/nnkit|nnkit|mpirun|tools\/[a-z_]+\.(sh|py)|printf|cc|\/usr\/bin\/python3|meson|python3)$/ && !(w[1] == "tensorboard" && w[2] ~ /^--/))
      next
    cmd = line
  }
  if (sub(/\\$/, "", cmd)) { joining = 1; next }
  joining = 0
  print cmd
  next
}
{ joining = 0 }
