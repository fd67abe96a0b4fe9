"""README.md's model table against the registry.

Every registered model is listed exactly once, in a row whose image size,
checkpoint classes and preprocessing are the registry's, so the table users
read stays the list `nets_factory` and `slimnets list` give.
"""

import os
import re

from nets import registry

_README = os.path.join(os.path.dirname(os.path.dirname(__file__)),
                       'README.md')


def _table_rows():
  with open(_README, encoding='utf-8') as f:
    text = f.read()
  section = text.split('\n## Models\n', 1)[1].split('\n## ', 1)[0]
  lines = [line for line in section.splitlines() if line.startswith('| ')]
  header = [cell.strip() for cell in lines[0].strip('|').split('|')]
  rows = []
  for line in lines[2:]:
    cells = [cell.strip() for cell in line.strip('|').split('|')]
    rows.append(dict(zip(header, cells)))
  return rows


def test_every_registered_model_is_listed_once_with_its_fields():
  listed = {}
  for row in _table_rows():
    for name in re.findall(r'`([a-z0-9_]+)`', row['Models']):
      assert name not in listed, '%s is listed twice' % name
      listed[name] = row
  assert sorted(listed) == sorted(registry.list_models())
  for name, row in listed.items():
    info = registry.get_model(name)
    assert row['Image size'] == str(info.default_image_size), name
    assert row['Checkpoint classes'] == str(info.num_classes), name
    assert row['Preprocessing'] == info.preprocessing, name
    assert row['Module'] == '`nets.%s`' % info.fn.__module__[len('nets.'):], (
        name)
