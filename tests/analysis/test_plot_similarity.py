"""The dendrogram of analysis/plot_similarity.py is coloured by the run's grouping, not by
scipy's distance cut: each task label has its group's colour, each link joining tasks of one
group that group's colour, each link across groups grey. The grouping here is one a distance cut
cannot give (tasks 0 and 2 are grouped though 0 is closest to 1). Long task names are wrapped and
rotated: no two labels overlap and all stay inside the figure."""
import collections
import os
import sys

import numpy as np
from scipy.cluster.hierarchy import linkage
from scipy.spatial.distance import squareform

sys.path.insert(0, os.path.join(os.environ["CLIPMTL_SRCDIR"], "analysis"))
import plot_similarity as ps

tasks = ["Real World photographs of office products", "Clipart", "Product images on white background",
         "Art paintings and sketches of everyday objects", "Sketch"]
S = np.array([[1.0, 0.9, 0.5, 0.1, 0.0],
              [0.9, 1.0, 0.4, 0.2, 0.1],
              [0.5, 0.4, 1.0, 0.3, 0.2],
              [0.1, 0.2, 0.3, 1.0, 0.7],
              [0.0, 0.1, 0.2, 0.7, 1.0]])
groups = np.array([0, 1, 0, 2, 2])

fig, drawn = ps.dendrogram_figure(S, tasks, groups)
ax = fig.axes[0]
labels = ax.get_xticklabels()
label_colour = {}
for label, task in zip(labels, drawn["leaves"]):
    assert label.get_text().replace("\n", " ") == tasks[task], (label.get_text(), tasks[task])
    label_colour[task] = label.get_color()
for a in range(len(tasks)):
    for b in range(len(tasks)):
        same = label_colour[a] == label_colour[b]
        assert same == (groups[a] == groups[b]), (a, b, label_colour)
assert ps.ACROSS_GROUPS not in label_colour.values()

# Expected link colours from an independent complete linkage of 1 - S: a link whose tasks are all
# in one group has that group's label colour, any other link is grey.
Z = linkage(squareform(1.0 - S, checks=False), method="complete")
under = [[t] for t in range(len(tasks))]
expected = []
for a, b in Z[:, :2].astype(int):
    under.append(under[a] + under[b])
    members = {groups[t] for t in under[-1]}
    expected.append(label_colour[under[-1][0]] if len(members) == 1 else ps.ACROSS_GROUPS)
assert collections.Counter(drawn["color_list"]) == collections.Counter(expected), (drawn["color_list"], expected)
assert expected.count(ps.ACROSS_GROUPS) == 3, expected  # {0,2} and {3,4} are the only pure links

fig.canvas.draw()
renderer = fig.canvas.get_renderer()
boxes = [label.get_window_extent(renderer) for label in labels]
figure_box = fig.bbox
for i, box in enumerate(boxes):
    assert box.x0 >= figure_box.x0 and box.x1 <= figure_box.x1 and box.y0 >= figure_box.y0, (i, box, figure_box)
    for j in range(i):
        assert not box.overlaps(boxes[j]), (labels[i].get_text(), labels[j].get_text())
print("dendrogram: labels and links coloured by the run's 3 groups, 5 long labels apart and inside the figure")
