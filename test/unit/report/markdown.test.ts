import { describe, expect, it } from 'vitest'
import { cell, clip, code, fenced, html, link, table, text } from '../../../src/report/markdown.ts'

describe('markdown helpers', () => {
  it('text: what could open markup is escaped, other punctuation stays', () => {
    expect(text('<b>x</b> & [a](b) *c* _d_ |f| `g` ~h~\ni (j). k-l: m@n')).toBe(
      '&lt;b&gt;x&lt;/b&gt; &amp; \\[a\\](b) \\*c\\* \\_d\\_ \\|f\\| \\`g\\` \\~h\\~ i (j). k-l: m@n',
    )
  })

  it('text: a block marker at the start stays text', () => {
    expect(text('# head')).toBe('\\# head')
    expect(text('- item')).toBe('\\- item')
    expect(text('+ item')).toBe('\\+ item')
    expect(text('12. item')).toBe('12\\. item')
    expect(text('3) item')).toBe('3\\) item')
    expect(text('> quote')).toBe('&gt; quote')
    expect(text('=====')).toBe('\\=====')
    expect(text('a # b - c')).toBe('a # b - c')
  })

  it('code: a fence longer than any backtick run inside, pipes escaped for tables', () => {
    expect(code('plain')).toBe('`plain`')
    expect(code('a `b` c')).toBe('``a `b` c``')
    expect(code('`edge`')).toBe('`` `edge` ``')
    expect(code('a|b')).toBe('`a\\|b`')
    expect(code('')).toBe('`  `')
  })

  it('fenced: no line inside can close the block', () => {
    expect(fenced(['```', '  ````x'])).toEqual(['`````', '```', '  ````x', '`````'])
    expect(fenced(['a'], 'json')).toEqual(['```json', 'a', '```'])
  })

  it('html: text inside an element cannot open a tag', () => {
    expect(html('</summary><script>"x" & y')).toBe(
      '&lt;/summary&gt;&lt;script&gt;&quot;x&quot; &amp; y',
    )
  })

  it('link: only https URLs without spaces or brackets', () => {
    expect(link('x', 'https://a.example/p?q=1#f')).toBe('[x](https://a.example/p?q=1#f)')
    expect(link('x', 'javascript:alert(1)')).toBe('x')
    expect(link('x', 'https://a.example/) [y](https://b')).toBe('x')
    expect(link('x', undefined)).toBe('x')
  })

  it('table and cell: headers, one line per row, pipes escaped once', () => {
    expect(
      table(
        ['A', 'B'],
        [
          ['1', 'x|y'],
          ['2', 'already \\| escaped'],
        ],
      ),
    ).toEqual(['| A | B |', '|---|---|', '| 1 | x\\|y |', '| 2 | already \\| escaped |'])
    expect(cell('a||b\nc')).toBe('a\\|\\|b c')
  })

  it('clip: at a word when one is near', () => {
    expect(clip('short', 10)).toBe('short')
    expect(clip('alpha beta gamma delta', 18)).toBe('alpha beta gamma…')
    expect(clip('abcdefghijklmnop', 8)).toBe('abcdefg…')
  })
})
