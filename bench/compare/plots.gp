# plots.gp - the comparison's plots, from the data files bench_compare
# writes with --out DIR (bench/compare.sh runs this):
#
#   gnuplot -e "data='DIR'; out='bench/compare/results'" bench/compare/plots.gp
#
# latency_cdf.png  distribution of one-way latency at 64 B, per mechanism
# throughput.png   MB/s against payload size, one publisher to one subscriber
# fanout.png       messages/s per subscriber against the number of subscribers
#
# Each data file starts with a line of quoted column titles (the
# mechanisms' labels); "NaN" marks a figure that was not measured.

if (!exists("data")) data = "."
if (!exists("out")) out = "."

set terminal pngcairo size 1200,700 font ",10" noenhanced
# Twelve distinguishable colours (gnuplot's default set repeats after 8);
# the columns come in the mechanisms' order: librpc's three rows first.
colours = "#6a0dad #1f77b4 #17becf #ff7f0e #bcbd22 #8c564b #d62728 #2ca02c #e377c2 #7f7f7f #000000 #9467bd"
do for [i=1:12] {
    set linetype i lc rgb word(colours, i) lw (i <= 3 ? 3 : 1.5) pt 7 ps 0.8
}
set datafile missing "NaN"
set key autotitle columnheader box opaque outside right top
set grid xtics ytics mxtics mytics lc rgb "#dddddd"
set style data linespoints

# Column counts first, while no axis setting can put points out of range.
cdf = data . "/latency_cdf.dat"
tput = data . "/throughput.dat"
fan = data . "/fanout.dat"
stats cdf nooutput
ncdf = STATS_columns
stats tput nooutput
ntput = STATS_columns
stats fan nooutput
nfan = STATS_columns

set output out . "/latency_cdf.png"
set title "One-way latency at 64 B (ping-pong / 2), all samples of all repeats"
set logscale x 10
set format x "%.0s%cs"
set xlabel "one-way latency"
set ylabel "fraction of messages at or below"
set yrange [0:1]
# Data are in ns; the axis shows seconds with SI prefixes.
plot for [i=2:ncdf] cdf using (column(i) * 1e-9):1 with lines lt (i - 1) title columnheader(i)

set output out . "/throughput.png"
set title "Throughput, one publisher process to one subscriber process (median of the repeats)"
set logscale x 2
set logscale y 10
set format x "%.0b%BB"
set format y "%g"
set xlabel "payload size"
set ylabel "MB/s (10^6 bytes)"
set autoscale y
plot for [i=2:ntput] tput using 1:i lt (i - 1)

set output out . "/fanout.png"
set title "Fan-out at the smallest payload: messages/s per subscriber"
unset logscale
set logscale y 10
set xrange [0.8:4.5]
set xtics (1, 2, 4)
set format x "%g"
set format y "%.0s%c"
set xlabel "subscriber processes"
set ylabel "messages/s per subscriber"
plot for [i=2:nfan] fan using 1:i lt (i - 1)
